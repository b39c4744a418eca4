/*
 * Whole-request deadlines for the hot path (every delivery POST, every Magento callback) without a timer per
 * request: `AbortSignal.timeout` arms a timer and a weak reference per call, and `AbortSignal.any` more weak
 * references, which show up as garbage-collection time at thousands of requests a second. Every request of one
 * tracker has the same timeout, so deadlines come due in the order requests started: one timer, armed for the
 * oldest unfinished request, is enough. The abort reason is the DOMException `TimeoutError` AbortSignal.timeout
 * gives, so errors read the same.
 */

export interface RequestDeadline {
  /** Aborts when the deadline passes or the external signal aborts. */
  readonly signal: AbortSignal;
  /** True once the deadline (not the external signal) aborted the request. */
  readonly timedOut: boolean;
  /** The request finished (either way): its deadline no longer matters. */
  done(): void;
}

export interface RequestDeadlines {
  start(external?: AbortSignal): RequestDeadline;
}

interface Entry {
  readonly at: number;
  /** Dropped once finished, so finished entries queued behind a slow request hold almost nothing. */
  controller: AbortController | undefined;
  readonly external: AbortSignal | undefined;
  finished: boolean;
  timedOut: boolean;
}

export function createRequestDeadlines(timeoutMs: number): RequestDeadlines {
  let entries: Entry[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;
  const watched = new WeakSet<AbortSignal>();

  const arm = (): void => {
    while (head < entries.length && (entries[head] as Entry).finished) head++;
    if (head > 256 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
    const next = entries[head];
    if (next === undefined || timer !== undefined) return;
    timer = setTimeout(expire, Math.max(0, next.at - performance.now()));
    // Like AbortSignal.timeout's timers, this one never keeps the process alive.
    timer.unref();
  };

  const expire = (): void => {
    timer = undefined;
    const now = performance.now();
    while (head < entries.length) {
      const entry = entries[head] as Entry;
      if (!entry.finished) {
        if (entry.at > now) break;
        entry.finished = true;
        entry.timedOut = true;
        entry.controller?.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
        entry.controller = undefined;
      }
      head++;
    }
    arm();
  };

  /** One listener per external signal (the shutdown signal is shared by every request), not one per request. */
  const watch = (external: AbortSignal): void => {
    if (watched.has(external)) return;
    watched.add(external);
    external.addEventListener(
      'abort',
      () => {
        for (let i = head; i < entries.length; i++) {
          const entry = entries[i] as Entry;
          if (entry.external === external && !entry.finished) {
            entry.finished = true;
            entry.controller?.abort(external.reason);
            entry.controller = undefined;
          }
        }
      },
      { once: true },
    );
  };

  return {
    start(external) {
      const controller = new AbortController();
      const entry: Entry = { at: performance.now() + timeoutMs, controller, external, finished: false, timedOut: false };
      if (external?.aborted) {
        entry.finished = true;
        controller.abort(external.reason);
      } else {
        if (external) watch(external);
        entries.push(entry);
        arm();
      }
      return {
        signal: controller.signal,
        get timedOut() {
          return entry.timedOut;
        },
        done() {
          entry.finished = true;
          entry.controller = undefined;
        },
      };
    },
  };
}

/**
 * Reads a response body to text with plain stream events (cheaper than `for await`), stopping once `maxBytes` have
 * arrived (the rest is not worth waiting for). Bytes are decoded as they came, a leading BOM included.
 */
export function readBodyText(body: NodeJS.ReadableStream & { destroy(): unknown }, maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    body.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) {
        finish();
        body.destroy();
      }
    });
    body.once('end', finish);
    body.once('error', (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
  });
}
