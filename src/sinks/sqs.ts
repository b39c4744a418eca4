import { SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAwsClientCache } from './aws-client-cache.ts';
import { type AwsConnection, awsClientSettings, awsConfigPaths, type ConfigGetter, type Decrypt, defaultChainSource, missingCredentialsReason, readAwsConnection, requireRegion } from './aws-config.ts';
import { final, outcomeForAwsThrow } from './aws-errors.ts';
import { truncateUtf8 } from './http.ts';
import { cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

export const SQS_PATHS = awsConfigPaths('sqs');

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

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription, payload } = attempt;
    try {
      const connection = await readAwsConnection(options.config, options.decrypt, 'sqs');
      return await clients.use(connection, async (client) => {
        const region = await requireRegion(client, SQS_PATHS);
        const mismatch = queueRegionMismatch(subscription.recipientUrl, region);
        if (mismatch) return final(`recipient_url of subscription ${subscription.id}: ${mismatch}`);
        const command = new SendMessageCommand({ QueueUrl: subscription.recipientUrl, MessageBody: cloudEventBody(payload) });
        const response = await client.send(command, attempt.signal ? { abortSignal: attempt.signal } : {});
        return {
          success: true,
          retryable: false,
          ...(response.$metadata.httpStatusCode !== undefined ? { statusCode: response.$metadata.httpStatusCode } : {}),
          responseData: truncateUtf8(JSON.stringify({ MessageId: response.MessageId })),
        };
      });
    } catch (error) {
      return outcomeForAwsThrow(error, { ...(attempt.signal ? { signal: attempt.signal } : {}), subscriptionId: subscription.id, uuid: payload.uuid, logger, paths: SQS_PATHS, service: 'SQS' });
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
    close: async () => clients.close(),
  };
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
