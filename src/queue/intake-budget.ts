/*
 * Bounds what a consumer works on by body bytes as well as by count. The count is the transport's own prefetch
 * (the broker's for RabbitMQ, claimed rows for the database queue); the bytes are counted here, because a handful
 * of large messages (retries carry the whole event data) costs as much memory as hundreds of small triggers. A
 * message past the byte budget waits, unstarted, until earlier ones finish; one message always runs, however large.
 */

/** Body bytes handled at once by one consumer unless `ASYNC_EVENTS_PREFETCH_BYTES` says otherwise. */
export const DEFAULT_PREFETCH_BYTES = 8 * 1024 * 1024;

export interface IntakeBudget {
  /** Starts `run` now if the bytes fit, else once enough earlier messages have been released. */
  admit(bytes: number, run: () => void): void;
  /** A started message finished; waiting ones that now fit start, in arrival order. */
  release(bytes: number): void;
  /** Whether a message of this size could start now. */
  fits(bytes: number): boolean;
  readonly bytesInFlight: number;
  readonly waiting: number;
}

/** `maxBytes` 0 (or less) means no byte bound. */
export function createIntakeBudget(maxBytes: number): IntakeBudget {
  let bytesInFlight = 0;
  let running = 0;
  const queue: { bytes: number; run: () => void }[] = [];
  let head = 0;

  const fits = (bytes: number): boolean => maxBytes <= 0 || running === 0 || bytesInFlight + bytes <= maxBytes;
  const start = (bytes: number, run: () => void): void => {
    running++;
    bytesInFlight += bytes;
    run();
  };

  return {
    admit(bytes, run) {
      if (head === queue.length && fits(bytes)) start(bytes, run);
      else queue.push({ bytes, run });
    },
    release(bytes) {
      running--;
      bytesInFlight -= bytes;
      while (head < queue.length) {
        const next = queue[head] as { bytes: number; run: () => void };
        if (!fits(next.bytes)) break;
        head++;
        start(next.bytes, next.run);
      }
      // Compact now and then, so a long-lived consumer's queue does not keep every message it ever held.
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
    },
    fits,
    get bytesInFlight() {
      return bytesInFlight;
    },
    get waiting() {
      return queue.length - head;
    },
  };
}
