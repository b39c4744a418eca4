import { EventBridgeClient, type EventBridgeClientConfig, PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { AsyncEventsError } from '../errors.ts';
import type { DeliveryOutcome } from '../types.ts';
import { type AwsSinkCommonOptions, createAwsBatchedSink } from './aws-batched-sink.ts';
import { awsClientSettings, awsConfigPaths } from './aws-config.ts';
import { final } from './aws-errors.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { Sink } from './sink.ts';

export const EVENTBRIDGE_PATHS = { ...awsConfigPaths('eventbridge'), source: 'async_events_aws/eventbridge/source' } as const;
/** Where the event source comes from when `async_events_aws/eventbridge/source` is empty, as upstream does. */
export const STORE_BASE_URL_PATH = 'web/unsecure/base_url';
/** PutEvents limits: entries per request and total entry size. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/** PutEvents entry error codes AWS documents as retryable. */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

export interface EventBridgeSinkOptions extends AwsSinkCommonOptions {
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
  const createClient = options.createClient ?? ((config: EventBridgeClientConfig) => new EventBridgeClient(config));

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

  return createAwsBatchedSink<EventBridgeClient, PutEventsRequestEntry>({
    group: 'eventbridge',
    service: 'EventBridge',
    paths: EVENTBRIDGE_PATHS,
    options,
    createClient: (connection) => createClient({ ...awsClientSettings(connection, options) }),
    limits: { maxEntries: PUT_EVENTS_MAX_ENTRIES, maxBytes: PUT_EVENTS_MAX_BYTES },
    sizeOf: putEventsEntrySize,
    async prepare({ subscription, payload }) {
      // Upstream's README shows a rule ARN as recipient; AWS would only answer with a validation error.
      if (/^arn:[^:]+:events:[^:]*:[^:]*:rule\//.test(subscription.recipientUrl)) {
        return final(
          `recipient_url of subscription ${subscription.id} is an EventBridge rule ARN; PutEvents needs the event bus name or its ARN ` +
            '(arn:aws:events:<region>:<account>:event-bus/<name>)',
        );
      }
      return { entry: { Source: await eventSource(), DetailType: payload.eventName, Detail: cloudEventBody(payload), EventBusName: subscription.recipientUrl } };
    },
    async send(client, entries) {
      return outcomesForPutEvents(await client.send(new PutEventsCommand({ Entries: [...entries] })), entries.length);
    },
    requireMore: async () => {
      await eventSource();
    },
  });
}

/** Entry size as AWS counts it against the 256 KB PutEvents limit: Time (14), Source, DetailType, Detail, Resources. */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  return (
    (entry.Time ? 14 : 0) +
    Buffer.byteLength(entry.Source ?? '') +
    Buffer.byteLength(entry.DetailType ?? '') +
    Buffer.byteLength(entry.Detail ?? '') +
    (entry.Resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource), 0)
  );
}

/** One outcome per entry sent, read from the entry at the same position of the response. */
export function outcomesForPutEvents(response: PutEventsCommandOutput, count: number): DeliveryOutcome[] {
  if (count === 1) return [outcomeForPutEvents(response)];
  const status = response.$metadata.httpStatusCode !== undefined ? { statusCode: response.$metadata.httpStatusCode } : {};
  return Array.from({ length: count }, (_, index): DeliveryOutcome => {
    const entry = response.Entries?.[index];
    if (entry === undefined) {
      return { success: false, retryable: true, ...status, responseData: truncateUtf8(`EventBridge answered ${response.Entries?.length ?? 0} entries for ${count} sent; entry ${index + 1} has no result`) };
    }
    if (entry.ErrorCode !== undefined) {
      return { success: false, retryable: RETRYABLE_ENTRY_ERRORS.has(entry.ErrorCode), ...status, responseData: truncateUtf8(JSON.stringify(entry)) };
    }
    return { success: true, retryable: false, ...status, responseData: truncateUtf8(JSON.stringify({ FailedEntryCount: 0, Entries: [entry] })) };
  });
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
