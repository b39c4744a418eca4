import { SendMessageBatchCommand, type SendMessageBatchCommandOutput, SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAwsClientCache } from './aws-client-cache.ts';
import { type AwsConnection, awsClientSettings, awsConfigPaths, type ConfigGetter, connectionKey, type Decrypt, defaultChainSource, missingCredentialsReason, readAwsConnection, requireRegion } from './aws-config.ts';
import { final, outcomeForAwsError, outcomeForAwsThrow, refuseWhenAborted, untilAborted } from './aws-errors.ts';
import { createMicroBatcher, DEFAULT_BATCH_WINDOW_MS } from './micro-batcher.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

export const SQS_PATHS = awsConfigPaths('sqs');
/** SendMessageBatch limits: entries per request and total body size. */
export const SEND_MESSAGE_BATCH_MAX_ENTRIES = 10;
export const SEND_MESSAGE_BATCH_MAX_BYTES = 256 * 1024;

export interface SqsSinkOptions {
  readonly logger: Logger;
  readonly config: ConfigGetter;
  readonly decrypt: Decrypt;
  /** Fixed endpoint (LocalStack, tests); otherwise the region's, or `AWS_ENDPOINT_URL_SQS`. */
  readonly endpoint?: string;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Replaceable so tests can count the clients made. */
  readonly createClient?: (config: SQSClientConfig) => SQSClient;
  /** Coalescing of attempts to the same queue: window 0 or maxEntries 1 sends each alone. */
  readonly batch?: { readonly windowMs?: number; readonly maxEntries?: number };
}

/** Hosts of AWS's own queue URLs: `sqs.<region>.amazonaws.com[.cn]` and the legacy `<region>.queue.amazonaws.com`. */
const AWS_QUEUE_HOST = /^(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?)$/;

/**
 * The `sqs` sink (upstream MageOS_AsyncEventsAWS): SendMessage with the structured CloudEvent as body to the queue
 * URL in `recipient_url`. Requests go to the configured region's endpoint (or `AWS_ENDPOINT_URL_SQS`), never to the
 * host written in `recipient_url`, so a subscription cannot send signed requests to a host of its choosing.
 */
export function createSqsSink(options: SqsSinkOptions): Sink {
  const logger = options.logger.child({ sink: 'sqs' });
  const createClient = options.createClient ?? ((config: SQSClientConfig) => new SQSClient(config));
  const clients = createAwsClientCache((connection: AwsConnection) =>
    createClient({ ...awsClientSettings(connection, options), useQueueUrlAsEndpoint: false }),
  );

  const batcher = createMicroBatcher<BatchedMessage, DeliveryOutcome>({
    windowMs: options.batch?.windowMs ?? DEFAULT_BATCH_WINDOW_MS,
    maxEntries: Math.min(options.batch?.maxEntries ?? SEND_MESSAGE_BATCH_MAX_ENTRIES, SEND_MESSAGE_BATCH_MAX_ENTRIES),
    maxBytes: SEND_MESSAGE_BATCH_MAX_BYTES,
    sizeOf: (item) => Buffer.byteLength(item.body),
    send: (items) =>
      clients.use((items[0] as BatchedMessage).connection, async (client) => {
        const queueUrl = (items[0] as BatchedMessage).queueUrl;
        try {
          if (items.length === 1) {
            const response = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: (items[0] as BatchedMessage).body }));
            return [sent(response.MessageId, response.$metadata.httpStatusCode)];
          }
          const response = await client.send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: items.map((item, index) => ({ Id: String(index), MessageBody: item.body })) }),
          );
          return outcomesForSendMessageBatch(response, items.length);
        } catch (error) {
          logger.debug({ entries: items.length, err: error }, 'SQS send failed');
          const outcome = outcomeForAwsError(error, SQS_PATHS, 'SQS');
          return items.map(() => outcome);
        }
      }),
  });
  const inFlight = new Set<Promise<unknown>>();

  async function prepare(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome | { key: string; item: BatchedMessage }> {
    const { subscription, payload } = attempt;
    try {
      const connection = await readAwsConnection(options.config, options.decrypt, 'sqs');
      const region = await clients.use(connection, (client) => requireRegion(client, SQS_PATHS));
      const mismatch = queueRegionMismatch(subscription.recipientUrl, region);
      if (mismatch) return final(`recipient_url of subscription ${subscription.id}: ${mismatch}`);
      const item = { connection, queueUrl: subscription.recipientUrl, body: cloudEventBody(payload) };
      return { key: `${connectionKey(connection)}\0${subscription.recipientUrl}`, item };
    } catch (error) {
      return outcomeForAwsThrow(error, { ...(attempt.signal ? { signal: attempt.signal } : {}), subscriptionId: subscription.id, uuid: payload.uuid, logger, paths: SQS_PATHS, service: 'SQS' });
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
      const connection = await readAwsConnection(options.config, options.decrypt, 'sqs');
      if (connection.accessKeyId === undefined && (await defaultChainSource()) === undefined) return missingCredentialsReason(SQS_PATHS);
      await clients.use(connection, (client) => requireRegion(client, SQS_PATHS));
      return undefined;
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return error.message;
      throw error;
    }
  }

  return {
    key: 'sqs',
    unusableReason,
    deliver,
    async close() {
      await batcher.drain();
      await Promise.allSettled([...inFlight]);
      clients.close();
    },
  };
}

interface BatchedMessage {
  readonly connection: AwsConnection;
  readonly queueUrl: string;
  readonly body: string;
}

function sent(messageId: string | undefined, statusCode: number | undefined): DeliveryOutcome {
  return { success: true, retryable: false, ...(statusCode !== undefined ? { statusCode } : {}), responseData: truncateUtf8(JSON.stringify({ MessageId: messageId })) };
}

/** One outcome per message sent: entry ids are the positions in the batch; a failed entry is classified like a thrown SQS error. */
export function outcomesForSendMessageBatch(response: SendMessageBatchCommandOutput, count: number): DeliveryOutcome[] {
  const status = response.$metadata.httpStatusCode;
  const successful = new Map((response.Successful ?? []).map((entry) => [entry.Id, entry]));
  const failed = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
  return Array.from({ length: count }, (_, index): DeliveryOutcome => {
    const id = String(index);
    const ok = successful.get(id);
    if (ok) return sent(ok.MessageId, status);
    const failure = failed.get(id);
    if (!failure) return { success: false, retryable: true, responseData: `SQS answered no result for batch entry ${id}` };
    const code = failure.Code ?? 'UnknownError';
    return outcomeForAwsError({ name: code, Code: code, message: failure.Message ?? code, $fault: failure.SenderFault ? 'client' : 'server' }, SQS_PATHS, 'SQS');
  });
}

/** Why an AWS queue URL cannot be reached through the client's region, or undefined; other hosts are not judged. */
export function queueRegionMismatch(queueUrl: string, region: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return `"${queueUrl}" is not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)`;
  }
  const match = AWS_QUEUE_HOST.exec(host);
  const queueRegion = match?.[1] ?? match?.[2];
  if (queueRegion !== undefined && queueRegion !== region) {
    return `queue "${queueUrl}" is in ${queueRegion} but ${SQS_PATHS.region} (or AWS_REGION) is ${region}; SQS accepts a queue only at its own region's endpoint`;
  }
  return undefined;
}
