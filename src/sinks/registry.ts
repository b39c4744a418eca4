import { AsyncEventsError } from '../errors.ts';
import type { SinkKey } from '../types.ts';
import type { Sink } from './sink.ts';

/**
 * The sinks by `metadata` key. To add a sink: write `src/sinks/<name>.ts` exporting a `create…Sink()` that returns
 * a `Sink` with its key (the value stored in `async_event_subscriber.metadata`), then add it to the list passed to
 * `createSinkRegistry` in `src/app.ts`.
 */
export interface SinkRegistry {
  get(key: SinkKey): Sink;
  keys(): readonly SinkKey[];
  /** Every sink with the reason it cannot be used now (missing configuration), if any. */
  usable(): Promise<{ key: SinkKey; reason?: string }[]>;
  close(): Promise<void>;
}

export function createSinkRegistry(sinks: readonly Sink[]): SinkRegistry {
  const byKey = new Map<SinkKey, Sink>();
  for (const sink of sinks) {
    if (byKey.has(sink.key)) throw new Error(`two sinks are registered under the key "${sink.key}"`);
    byKey.set(sink.key, sink);
  }
  const keys = [...byKey.keys()];
  return {
    get(key) {
      const sink = byKey.get(key);
      if (!sink) {
        throw new AsyncEventsError('SINK_UNKNOWN', `no sink is registered for metadata "${key}"; known sinks: ${keys.map((k) => `"${k}"`).join(', ') || 'none'}`, { key, known: keys });
      }
      return sink;
    },
    keys: () => keys,
    async usable() {
      return Promise.all(
        [...byKey.values()].map(async (sink) => {
          const reason = await sink.unusableReason();
          return reason === undefined ? { key: sink.key } : { key: sink.key, reason };
        }),
      );
    },
    async close() {
      const results = await Promise.allSettled([...byKey.values()].map((sink) => sink.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
