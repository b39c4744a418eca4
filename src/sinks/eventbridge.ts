import { EventBridgeClient, type EventBridgeClientConfig, PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAwsClientCache } from './aws-client-cache.ts';
import { type AwsConnection, awsClientSettings, awsConfigPaths, type ConfigGetter, type Decrypt, defaultChainSource, missingCredentialsReason, readAwsConnection, requireRegion } from './aws-config.ts';
import { final, outcomeForAwsThrow } from './aws-errors.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

export const EVENTBRIDGE_PATHS = { ...awsConfigPaths('eventbridge'), source: 'async_events_aws/eventbridge/source' } as const;
/** Where the event source comes from when `async_events_aws/eventbridge/source` is empty, as upstream does. */
export const STORE_BASE_URL_PATH = 'web/unsecure/base_url';
/** PutEvents entry error codes AWS documents as retryable. */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

export interface EventBridgeSinkOptions {
  readonly logger: Logger;
  readonly config: ConfigGetter;
  readonly decrypt: Decrypt;
  /** Base URL of the store whose host is the default event source; `web/unsecure/base_url` when absent or empty. */
  readonly storeBaseUrl?: () => Promise<string | undefined>;
  /** `ASYNC_EVENTS_MAGENTO_URL`: its host is the source when neither the config value nor a store base URL is set. */
  readonly magentoUrl?: string;
  /** Fixed endpoint (LocalStack, tests); otherwise the region's, or `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly endpoint?: string;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Replaceable so tests can count the clients made. */
  readonly createClient?: (config: EventBridgeClientConfig) => EventBridgeClient;
}

/**
 * The `eventbridge` sink (upstream MageOS_AsyncEventsAWS): one PutEvents entry per attempt with the structured
 * CloudEvent as Detail and `recipient_url` as the bus name or ARN. Unlike upstream, a failed entry is read from
 * the AWS response, so InternalFailure and ThrottlingException entries are retried.
 */
export function createEventBridgeSink(options: EventBridgeSinkOptions): Sink {
  const logger = options.logger.child({ sink: 'eventbridge' });
  const createClient = options.createClient ?? ((config: EventBridgeClientConfig) => new EventBridgeClient(config));
  const clients = createAwsClientCache((connection: AwsConnection) =>
    createClient({ ...awsClientSettings(connection, options) }),
  );

  async function eventSource(): Promise<string> {
    const configured = (await options.config.get(EVENTBRIDGE_PATHS.source))?.trim();
    if (configured) return configured;
    const baseUrl = (await options.storeBaseUrl?.())?.trim() || (await options.config.get(STORE_BASE_URL_PATH))?.trim();
    const host = hostOf(baseUrl) ?? hostOf(options.magentoUrl?.trim());
    if (!host) {
      throw new AsyncEventsError(
        'SINK_NOT_CONFIGURED',
        `no EventBridge event source: set ${EVENTBRIDGE_PATHS.source} (e.g. store.example.com); the store base URL (${STORE_BASE_URL_PATH}) ` +
          (baseUrl ? `"${baseUrl}" has no host` : 'is not set') +
          (options.magentoUrl ? ` and ASYNC_EVENTS_MAGENTO_URL "${options.magentoUrl}" has no host` : ' and neither is ASYNC_EVENTS_MAGENTO_URL'),
        { path: EVENTBRIDGE_PATHS.source },
      );
    }
    return host;
  }

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription, payload } = attempt;
    try {
      const connection = await readAwsConnection(options.config, options.decrypt, 'eventbridge');
      return await clients.use(connection, async (client) => {
        await requireRegion(client, EVENTBRIDGE_PATHS);
        // Upstream's README shows a rule ARN as recipient; AWS would only answer with a validation error.
        if (/^arn:[^:]+:events:[^:]*:[^:]*:rule\//.test(subscription.recipientUrl)) {
          return final(
            `recipient_url of subscription ${subscription.id} is an EventBridge rule ARN; PutEvents needs the event bus name or its ARN ` +
              '(arn:aws:events:<region>:<account>:event-bus/<name>)',
          );
        }
        const command = new PutEventsCommand({
          Entries: [
            {
              Source: await eventSource(),
              DetailType: payload.eventName,
              Detail: cloudEventBody(payload),
              EventBusName: subscription.recipientUrl,
            },
          ],
        });
        const response = await client.send(command, attempt.signal ? { abortSignal: attempt.signal } : {});
        return outcomeForPutEvents(response);
      });
    } catch (error) {
      return outcomeForAwsThrow(error, { ...(attempt.signal ? { signal: attempt.signal } : {}), subscriptionId: subscription.id, uuid: payload.uuid, logger, paths: EVENTBRIDGE_PATHS, service: 'EventBridge' });
    }
  }

  async function unusableReason(): Promise<string | undefined> {
    try {
      const connection = await readAwsConnection(options.config, options.decrypt, 'eventbridge');
      if (connection.accessKeyId === undefined && (await defaultChainSource()) === undefined) return missingCredentialsReason(EVENTBRIDGE_PATHS);
      await clients.use(connection, (client) => requireRegion(client, EVENTBRIDGE_PATHS));
      await eventSource();
      return undefined;
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return error.message;
      throw error;
    }
  }

  return {
    key: 'eventbridge',
    unusableReason,
    deliver,
    close: async () => clients.close(),
  };
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Success, or the failed entry of the AWS response (FailedEntryCount / Entries[0].ErrorCode). */
export function outcomeForPutEvents(response: PutEventsCommandOutput): DeliveryOutcome {
  const { $metadata, ...body } = response;
  const status = $metadata.httpStatusCode !== undefined ? { statusCode: $metadata.httpStatusCode } : {};
  const entry = response.Entries?.[0];
  if ((response.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode !== undefined) {
    const code = entry?.ErrorCode;
    return {
      success: false,
      retryable: code !== undefined && RETRYABLE_ENTRY_ERRORS.has(code),
      ...status,
      responseData: truncateUtf8(JSON.stringify(entry ?? body)),
    };
  }
  return { success: true, retryable: false, ...status, responseData: truncateUtf8(JSON.stringify(body)) };
}
