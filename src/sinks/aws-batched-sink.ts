import { isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAwsClientCache } from './aws-client-cache.ts';
import { type AwsConfigPaths, type AwsConnection, type AwsSinkGroup, type ConfigGetter, connectionKey, type Decrypt, defaultChainSource, missingCredentialsReason, readAwsConnection, requireRegion } from './aws-config.ts';
import { outcomeForAwsError, outcomeForAwsThrow, refuseWhenAborted, untilAborted } from './aws-errors.ts';
import { createInFlight } from './in-flight.ts';
import { createMicroBatcher, DEFAULT_BATCH_WINDOW_MS } from './micro-batcher.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

/*
 * What the batched AWS sinks (EventBridge PutEvents, SQS SendMessageBatch) share: the connection read live from
 * `async_events_aws/<group>/*`, one client per credential set, attempts to the same recipient on the same
 * credentials coalesced into one request within the service's limits, a thrown request classified once for every
 * entry it carried, and close() that sends what is waiting and waits for every answer. The sink files say only what
 * one entry is and how a batch of them is sent and read back.
 */

export interface AwsBatchOptions {
  /** How long the first attempt of a batch waits for others; 0 sends each alone. */
  readonly windowMs?: number;
  /** At most the service's limit; 1 sends each alone. */
  readonly maxEntries?: number;
}

/** An AWS SDK client as this module uses it: one that knows its region and can be destroyed. */
export type AwsSdkClient = Parameters<typeof requireRegion>[0] & { destroy(): void };

/** What the caller of a sink factory passes through unchanged. */
export interface AwsSinkCommonOptions {
  readonly logger: Logger;
  readonly config: ConfigGetter;
  readonly decrypt: Decrypt;
  /** Coalescing of attempts to the same bus or queue on the same credentials. */
  readonly batch?: AwsBatchOptions;
}

export interface AwsBatchedSinkSpec<Client extends AwsSdkClient, Entry> {
  /** The sink key, which is also the config group under `async_events_aws/`. */
  readonly group: AwsSinkGroup;
  /** Name in outcomes and logs: `EventBridge`, `SQS`. */
  readonly service: string;
  readonly paths: AwsConfigPaths;
  readonly options: AwsSinkCommonOptions;
  readonly createClient: (connection: AwsConnection) => Client;
  /** The service's limits of one request. */
  readonly limits: { readonly maxEntries: number; readonly maxBytes: number };
  /** Bytes of one entry as the service counts them against `limits.maxBytes`. */
  readonly sizeOf: (entry: Entry) => number;
  /**
   * The entry of one attempt, or a final outcome when the subscription cannot be served as written; `region` is the
   * one the client signs for. May throw SINK_NOT_CONFIGURED naming the path to set.
   */
  readonly prepare: (attempt: DeliveryAttemptRequest, region: string) => Promise<{ readonly entry: Entry } | DeliveryOutcome>;
  /** Sends entries bound for one recipient in one request; one outcome per entry, in order. A throw fails them all. */
  readonly send: (client: Client, entries: readonly Entry[], recipientUrl: string) => Promise<readonly DeliveryOutcome[]>;
  /** A further condition of use beyond credentials and region (EventBridge: an event source); throws SINK_NOT_CONFIGURED. */
  readonly requireMore?: () => Promise<void>;
}

interface Batched<Entry> {
  readonly connection: AwsConnection;
  readonly recipientUrl: string;
  readonly entry: Entry;
}

export function createAwsBatchedSink<Client extends AwsSdkClient, Entry>(spec: AwsBatchedSinkSpec<Client, Entry>): Sink {
  const { paths, service } = spec;
  const { config, decrypt, batch } = spec.options;
  const logger = spec.options.logger.child({ sink: spec.group });
  const clients = createAwsClientCache(spec.createClient);
  const inFlight = createInFlight();

  const batcher = createMicroBatcher<Batched<Entry>, DeliveryOutcome>({
    windowMs: batch?.windowMs ?? DEFAULT_BATCH_WINDOW_MS,
    maxEntries: Math.min(batch?.maxEntries ?? spec.limits.maxEntries, spec.limits.maxEntries),
    maxBytes: spec.limits.maxBytes,
    sizeOf: (item) => spec.sizeOf(item.entry),
    send: (items) => {
      // Every item of a batch shares its key: same connection, same recipient.
      const first = items[0] as Batched<Entry>;
      return clients.use(first.connection, async (client) => {
        try {
          return await spec.send(client, items.map((item) => item.entry), first.recipientUrl);
        } catch (error) {
          logger.debug({ entries: items.length, err: error }, `${service} send failed`);
          const outcome = outcomeForAwsError(error, paths, service);
          return items.map(() => outcome);
        }
      });
    },
  });

  async function prepare(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome | { key: string; item: Batched<Entry> }> {
    const { subscription, payload } = attempt;
    try {
      const connection = await readAwsConnection(config, decrypt, spec.group);
      const region = await clients.use(connection, (client) => requireRegion(client, paths));
      const prepared = await spec.prepare(attempt, region);
      if (!('entry' in prepared)) return prepared;
      const recipientUrl = subscription.recipientUrl;
      return { key: `${connectionKey(connection)}\0${recipientUrl}`, item: { connection, recipientUrl, entry: prepared.entry } };
    } catch (error) {
      return outcomeForAwsThrow(error, { ...(attempt.signal ? { signal: attempt.signal } : {}), subscriptionId: subscription.id, uuid: payload.uuid, logger, paths, service });
    }
  }

  async function unusableReason(): Promise<string | undefined> {
    try {
      const connection = await readAwsConnection(config, decrypt, spec.group);
      if (connection.accessKeyId === undefined && (await defaultChainSource()) === undefined) return missingCredentialsReason(paths);
      await clients.use(connection, (client) => requireRegion(client, paths));
      await spec.requireMore?.();
      return undefined;
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return error.message;
      throw error;
    }
  }

  return {
    key: spec.group,
    unusableReason,
    async deliver(attempt) {
      refuseWhenAborted(attempt);
      return inFlight.run(
        (async () => {
          const prepared = await prepare(attempt);
          if (!('key' in prepared)) return prepared;
          return untilAborted(batcher.submit(prepared.key, prepared.item), attempt);
        })(),
      );
    },
    async close() {
      await batcher.drain();
      await inFlight.settled();
      clients.close();
    },
  };
}
