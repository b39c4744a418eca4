/*
 * Coalesces sends that are ready together. Each `submit` joins the open batch of its key (same bus, same queue,
 * same credentials); a batch leaves when the window after its first item closes, when it holds `maxEntries`, or
 * when the next item would take it past `maxBytes`. `send` answers one result per item, in order, so every
 * submitter gets its own entry's outcome; a send that throws rejects each of its items with the same error.
 */

/** How long the first attempt of a batch waits for others to the same destination; short against a request's time. */
export const DEFAULT_BATCH_WINDOW_MS = 2;

export interface MicroBatcherOptions<Item, Result> {
  /** How long the first item of a batch waits for company. 0 sends every item alone. */
  readonly windowMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly sizeOf: (item: Item) => number;
  readonly send: (items: readonly Item[]) => Promise<readonly Result[]>;
}

export interface MicroBatcher<Item, Result> {
  submit(key: string, item: Item): Promise<Result>;
  /** Sends every open batch now and waits until every batch sent so far has its answer. */
  drain(): Promise<void>;
}

interface Pending<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

interface OpenBatch<Item, Result> {
  readonly entries: Pending<Item, Result>[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

export function createMicroBatcher<Item, Result>(options: MicroBatcherOptions<Item, Result>): MicroBatcher<Item, Result> {
  const open = new Map<string, OpenBatch<Item, Result>>();
  const sending = new Set<Promise<void>>();

  function flush(key: string): void {
    const batch = open.get(key);
    if (!batch) return;
    open.delete(key);
    if (batch.timer) clearTimeout(batch.timer);
    const entries = batch.entries;
    const sent = (async () => {
      try {
        const results = await options.send(entries.map((entry) => entry.item));
        entries.forEach((entry, index) => {
          if (index < results.length) entry.resolve(results[index] as Result);
          else entry.reject(new Error(`the batch answered ${results.length} results for ${entries.length} entries`));
        });
      } catch (error) {
        for (const entry of entries) entry.reject(error);
      }
    })();
    sending.add(sent);
    void sent.finally(() => sending.delete(sent));
  }

  return {
    submit(key, item) {
      return new Promise<Result>((resolve, reject) => {
        const size = options.sizeOf(item);
        let batch = open.get(key);
        if (batch && batch.entries.length > 0 && batch.bytes + size > options.maxBytes) {
          flush(key);
          batch = undefined;
        }
        if (!batch) {
          batch = { entries: [], bytes: 0 };
          open.set(key, batch);
          if (options.windowMs > 0) batch.timer = setTimeout(() => flush(key), options.windowMs);
        }
        batch.entries.push({ item, resolve, reject });
        batch.bytes += size;
        if (options.windowMs <= 0 || batch.entries.length >= options.maxEntries) flush(key);
      });
    },
    async drain() {
      for (const key of [...open.keys()]) flush(key);
      while (sending.size > 0) await Promise.allSettled([...sending]);
    },
  };
}
