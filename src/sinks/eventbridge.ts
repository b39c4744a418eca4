import { EventBridgeClient, type EventBridgeClientConfig, PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAwsClientCache } from './aws-client-cache.ts';
import { type AwsConnection, awsClientSettings, awsConfigPaths, type ConfigGetter, connectionKey, type Decrypt, defaultChainSource, missingCredentialsReason, readAwsConnection, requireRegion } from './aws-config.ts';
import { final, outcomeForAwsError, outcomeForAwsThrow, refuseWhenAborted, untilAborted } from './aws-errors.ts';
import { createMicroBatcher, DEFAULT_BATCH_WINDOW_MS } from './micro-batcher.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

export const EVENTBRIDGE_PATHS = { ...awsConfigPaths('eventbridge'), source: 'async_events_aws/eventbridge/source' } as const;
/** Where the event source comes from when `async_events_aws/eventbridge/source` is empty, as upstream does. */
export const STORE_BASE_URL_PATH = 'web/unsecure/base_url';
/** PutEvents limits: entries per request and total entry size. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
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
  /** Coalescing of attempts to the same bus: window 0 or maxEntries 1 sends each alone. */
  readonly batch?: { readonly windowMs?: number; readonly maxEntries?: number };
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

  const batcher = createMicroBatcher<BatchedEntry, DeliveryOutcome>({
    windowMs: options.batch?.windowMs ?? DEFAULT_BATCH_WINDOW_MS,
    maxEntries: Math.min(options.batch?.maxEntries ?? PUT_EVENTS_MAX_ENTRIES, PUT_EVENTS_MAX_ENTRIES),
    maxBytes: PUT_EVENTS_MAX_BYTES,
    sizeOf: (item) => putEventsEntrySize(item.entry),
    send: (items) =>
      clients.use((items[0] as BatchedEntry).connection, async (client) => {
        try {
          const response = await client.send(new PutEventsCommand({ Entries: items.map((item) => item.entry) }));
          return outcomesForPutEvents(response, items.length);
        } catch (error) {
          logger.debug({ entries: items.length, err: error }, 'EventBridge PutEvents failed');
          const outcome = outcomeForAwsError(error, EVENTBRIDGE_PATHS, 'EventBridge');
          return items.map(() => outcome);
        }
      }),
  });
  const inFlight = new Set<Promise<unknown>>();

  async function prepare(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome | { key: string; item: BatchedEntry }> {
    const { subscription, payload } = attempt;
    try {
      const connection = await readAwsConnection(options.config, options.decrypt, 'eventbridge');
      await clients.use(connection, (client) => requireRegion(client, EVENTBRIDGE_PATHS));
      // Upstream's README shows a rule ARN as recipient; AWS would only answer with a validation error.
      if (/^arn:[^:]+:events:[^:]*:[^:]*:rule\//.test(subscription.recipientUrl)) {
        return final(
          `recipient_url of subscription ${subscription.id} is an EventBridge rule ARN; PutEvents needs the event bus name or its ARN ` +
            '(arn:aws:events:<region>:<account>:event-bus/<name>)',
        );
      }
      const entry: PutEventsRequestEntry = {
        Source: await eventSource(),
        DetailType: payload.eventName,
        Detail: cloudEventBody(payload),
        EventBusName: subscription.recipientUrl,
      };
      return { key: `${connectionKey(connection)}\0${subscription.recipientUrl}`, item: { connection, entry } };
    } catch (error) {
      return outcomeForAwsThrow(error, { ...(attempt.signal ? { signal: attempt.signal } : {}), subscriptionId: subscription.id, uuid: payload.uuid, logger, paths: EVENTBRIDGE_PATHS, service: 'EventBridge' });
    }
  }

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    refuseWhenAborted(attempt);
    const work = (async () => {
      const prepared = await prepare(attempt);
      if (!('key' in prepared)) return prepared;
      return untilAborted(batcher.submit(prepared.key, prepared.item), attempt);
    })();
    inFlight.add(work);
    try {
      return await work;
    } finally {
      inFlight.delete(work);
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
    async close() {
      await batcher.drain();
      await Promise.allSettled([...inFlight]);
      clients.close();
    },
  };
}

interface BatchedEntry {
  readonly connection: AwsConnection;
  readonly entry: PutEventsRequestEntry;
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
