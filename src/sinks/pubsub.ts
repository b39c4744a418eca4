import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { ClientConfig, PubSub, Topic } from '@google-cloud/pubsub';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import type { ConfigGetter } from './aws-config.ts';
import { truncateUtf8 } from './http.ts';
import { createInFlight } from './in-flight.ts';
import { CLOUDEVENT_CONTENT_TYPE, cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

/** Upstream MageOS_AsyncEventsGCP's one setting: the service-account (ADC) JSON file. */
export const PUBSUB_ADC_PATH = 'async_events_gcp/pubsub/adc_path';
const TOPIC_NAME = /^projects\/[^/]+\/topics\/[^/]+$/;

/**
 * gRPC status codes worth another attempt: Google's own publish retry set, minus CANCELLED and UNKNOWN (which
 * here mean we gave up, or a bug). Upstream retries none.
 */
export const RETRYABLE_GRPC_CODES: ReadonlyMap<number, string> = new Map([
  [4, 'DEADLINE_EXCEEDED'],
  [8, 'RESOURCE_EXHAUSTED'],
  [10, 'ABORTED'],
  [13, 'INTERNAL'],
  [14, 'UNAVAILABLE'],
]);
const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

export interface PubSubSinkOptions {
  readonly logger: Logger;
  readonly config: ConfigGetter;
  readonly requestTimeoutMs?: number;
  /** Replaceable so tests can see the client settings. */
  readonly createClient?: (config: ClientConfig) => PubSub | Promise<PubSub>;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The `pubsub` sink (upstream MageOS_AsyncEventsGCP): publishes the structured CloudEvent as the message data to
 * the topic `projects/<p>/topics/<t>` in `recipient_url`, with Google's client, which honours
 * `PUBSUB_EMULATOR_HOST`. The client's own retries are off: our chain does the backoff and logs each attempt.
 */
export function createPubSubSink(options: PubSubSinkOptions): Sink {
  const logger = options.logger.child({ sink: 'pubsub' });
  const env = options.env ?? process.env;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  // Google's client takes a while to load; only sidecars that publish to Pub/Sub pay for it.
  const createClient = options.createClient ?? (async (config: ClientConfig) => new (await import('@google-cloud/pubsub')).PubSub(config));
  const clients = new Map<string, { client: PubSub; topics: Map<string, Topic> }>();
  const inFlight = createInFlight();

  async function adcPath(): Promise<string | undefined> {
    const configured = (await options.config.get(PUBSUB_ADC_PATH))?.trim();
    return configured === '' ? undefined : configured;
  }

  async function topicOf(keyFilename: string | undefined, name: string): Promise<Topic> {
    const key = keyFilename ?? '';
    let entry = clients.get(key);
    if (!entry) {
      entry = { client: await createClient(keyFilename !== undefined ? { keyFilename } : {}), topics: new Map() };
      const raced = clients.get(key);
      if (raced) {
        void entry.client.close();
        entry = raced;
      } else clients.set(key, entry);
    }
    let topic = entry.topics.get(name);
    if (!topic) {
      topic = entry.client.topic(name, {
        // Deliveries that are ready together share one Publish request; each keeps its own outcome.
        batching: { maxMessages: 100, maxMilliseconds: 5 },
        gaxOpts: {
          timeout: timeoutMs,
          retry: {
            retryCodes: [],
            backoffSettings: {
              initialRetryDelayMillis: 100, retryDelayMultiplier: 1, maxRetryDelayMillis: 100,
              initialRpcTimeoutMillis: timeoutMs, rpcTimeoutMultiplier: 1, maxRpcTimeoutMillis: timeoutMs, totalTimeoutMillis: timeoutMs,
            },
          },
        },
      });
      entry.topics.set(name, topic);
    }
    return topic;
  }

  async function publish(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription, payload } = attempt;
    if (!TOPIC_NAME.test(subscription.recipientUrl)) {
      return final(`recipient_url "${subscription.recipientUrl}" of subscription ${subscription.id} is not a Pub/Sub topic name: write projects/<project>/topics/<topic>`);
    }
    const unusable = await unusableReason();
    if (unusable !== undefined) return final(unusable);
    try {
      const topic = await topicOf(await adcPath(), subscription.recipientUrl);
      const messageId = await topic.publishMessage({
        data: Buffer.from(cloudEventBody(payload), 'utf8'),
        // The CloudEvents Pub/Sub binding's structured mode names the media type in this attribute.
        attributes: { 'content-type': CLOUDEVENT_CONTENT_TYPE },
      });
      return { success: true, retryable: false, responseData: truncateUtf8(JSON.stringify({ messageId })) };
    } catch (error) {
      if (attempt.signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${subscription.id} aborted`, {}, { cause: error });
      logger.debug({ subscriptionId: subscription.id, uuid: payload.uuid, err: error }, 'pubsub delivery failed');
      return outcomeForPubSubError(error, subscription.recipientUrl);
    }
  }

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    return inFlight.run(publish(attempt));
  }

  async function unusableReason(): Promise<string | undefined> {
    try {
      const keyFilename = await adcPath();
      if (env.PUBSUB_EMULATOR_HOST) return undefined;
      if (keyFilename !== undefined) {
        if (!path.isAbsolute(keyFilename)) return `${PUBSUB_ADC_PATH} "${keyFilename}" must be an absolute path to the credentials JSON file`;
        if (!(await readable(keyFilename))) return `${PUBSUB_ADC_PATH} names "${keyFilename}", which the sidecar cannot read: mount the file there or fix the path`;
        return undefined;
      }
      if (await adcSource(env)) return undefined;
      return (
        `no GCP credentials: set ${PUBSUB_ADC_PATH} to the absolute path of a service-account JSON file, or provide Application Default Credentials ` +
        '(GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or a GCE/GKE metadata server via GCE_METADATA_HOST)'
      );
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return error.message;
      throw error;
    }
  }

  return {
    key: 'pubsub',
    unusableReason,
    deliver,
    async close() {
      await inFlight.settled();
      const open = [...clients.values()];
      clients.clear();
      await Promise.allSettled(open.map((entry) => entry.client.close()));
    },
  };
}

function final(message: string): DeliveryOutcome {
  return { success: false, retryable: false, responseData: truncateUtf8(message) };
}

/** A failed publish by its gRPC status: the retryable set above; credentials and a missing topic name what to fix. */
export function outcomeForPubSubError(error: unknown, topic: string): DeliveryOutcome {
  const fields = (error ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof fields.code === 'number' ? fields.code : undefined;
  const name = code !== undefined ? (GRPC_NAMES[code] ?? String(code)) : undefined;
  const detail = typeof fields.details === 'string' && fields.details !== '' ? fields.details : typeof fields.message === 'string' ? fields.message : String(error);
  const described = `Pub/Sub ${topic}: ${name ?? 'error'}: ${detail}`;
  if (code === 16 || code === 7) {
    return final(`${described}; Google refused the credentials: check ${PUBSUB_ADC_PATH} (or Application Default Credentials) and the account's pubsub.topics.publish permission`);
  }
  if (code === 5) return final(`${described}; create the topic or fix the subscription's recipient_url`);
  // No status means the client failed before a call (e.g. unreadable credentials): not worth repeating unchanged.
  return { success: false, retryable: code !== undefined && RETRYABLE_GRPC_CODES.has(code), responseData: truncateUtf8(described) };
}

async function readable(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether Application Default Credentials have a source we can see without asking a metadata server. */
async function adcSource(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.GOOGLE_APPLICATION_CREDENTIALS) return readable(env.GOOGLE_APPLICATION_CREDENTIALS);
  if (env.GCE_METADATA_HOST || env.GCE_METADATA_IP || env.K_SERVICE || env.KUBERNETES_SERVICE_HOST) return true;
  const home = env.HOME ?? homedir();
  const configDir = env.CLOUDSDK_CONFIG ?? path.join(home, '.config', 'gcloud');
  return readable(path.join(configDir, 'application_default_credentials.json'));
}
