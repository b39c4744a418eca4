import { SendMessageBatchCommand, type SendMessageBatchCommandOutput, SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { DeliveryOutcome } from '../types.ts';
import { type AwsSinkCommonOptions, createAwsBatchedSink } from './aws-batched-sink.ts';
import { awsClientSettings, awsConfigPaths } from './aws-config.ts';
import { final, outcomeForAwsError } from './aws-errors.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { Sink } from './sink.ts';

export const SQS_PATHS = awsConfigPaths('sqs');
/** SendMessageBatch limits: entries per request and total body size. */
export const SEND_MESSAGE_BATCH_MAX_ENTRIES = 10;
export const SEND_MESSAGE_BATCH_MAX_BYTES = 256 * 1024;

export interface SqsSinkOptions extends AwsSinkCommonOptions {
  /** Fixed endpoint (LocalStack, tests); otherwise the region's, or `AWS_ENDPOINT_URL_SQS`. */
  readonly endpoint?: string;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Replaceable so tests can count the clients made. */
  readonly createClient?: (config: SQSClientConfig) => SQSClient;
}

/** Hosts of AWS's own queue URLs: `sqs.<region>.amazonaws.com[.cn]` and the legacy `<region>.queue.amazonaws.com`. */
const AWS_QUEUE_HOST = /^(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?)$/;

/**
 * The `sqs` sink (upstream MageOS_AsyncEventsAWS): SendMessage with the structured CloudEvent as body to the queue
 * URL in `recipient_url`. Requests go to the configured region's endpoint (or `AWS_ENDPOINT_URL_SQS`), never to the
 * host written in `recipient_url`, so a subscription cannot send signed requests to a host of its choosing.
 */
export function createSqsSink(options: SqsSinkOptions): Sink {
  const createClient = options.createClient ?? ((config: SQSClientConfig) => new SQSClient(config));
  return createAwsBatchedSink<SQSClient, string>({
    group: 'sqs',
    service: 'SQS',
    paths: SQS_PATHS,
    options,
    createClient: (connection) => createClient({ ...awsClientSettings(connection, options), useQueueUrlAsEndpoint: false }),
    limits: { maxEntries: SEND_MESSAGE_BATCH_MAX_ENTRIES, maxBytes: SEND_MESSAGE_BATCH_MAX_BYTES },
    sizeOf: (body) => Buffer.byteLength(body),
    async prepare({ subscription, payload }, region) {
      const mismatch = queueRegionMismatch(subscription.recipientUrl, region);
      if (mismatch) return final(`recipient_url of subscription ${subscription.id}: ${mismatch}`);
      return { entry: cloudEventBody(payload) };
    },
    async send(client, bodies, queueUrl) {
      if (bodies.length === 1) {
        const response = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: bodies[0] as string }));
        return [sent(response.MessageId, response.$metadata.httpStatusCode)];
      }
      const response = await client.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })) }),
      );
      return outcomesForSendMessageBatch(response, bodies.length);
    },
  });
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
