import type { Logger } from '../../logger.ts';
import { createIntakeBudget } from '../intake-budget.ts';
import type { MessageHandler, QueueConsumer, QueueDelivery } from '../transport.ts';

/** A message taken from a table, with the row key that settles it. */
export interface Claimed {
  readonly key: number;
  readonly delivery: QueueDelivery;
}

/** One table-backed queue: how to take rows, settle them and keep their lease while a handler works. */
export interface ClaimSource {
  /** Claims up to `limit` rows; `full` when more were waiting than asked for, so the next poll starts at once. */
  claim(limit: number): Promise<{ claimed: Claimed[]; full: boolean }>;
  ack(key: number): Promise<void>;
  /** Hands the row back for another try. */
  release(key: number): Promise<void>;
  /** Extends the lease of rows still being handled. */
  renew(keys: number[]): Promise<void>;
}

export interface PollLoopOptions {
  readonly prefetch: number;
  /** Body bytes handled at once (see intake-budget.ts; 0: no byte bound); no new claims while rows wait for it. */
  readonly prefetchBytes: number;
  readonly pollIntervalMs: number;
  readonly leaseSeconds: number;
  readonly logger: Logger;
}

/**
 * Polls a table-backed queue: at most `prefetch` rows claimed at once, handled within the byte budget; idle polls
 * every `pollIntervalMs`, and the next poll at once after a full batch or a finished handler. Leases are renewed while handlers run, so only a consumer
 * that died loses its rows to another one.
 */
export function startPollLoop(source: ClaimSource, handler: MessageHandler, options: PollLoopOptions): QueueConsumer {
  const { logger } = options;
  /** Claimed rows, started or waiting for the byte budget (their leases are renewed either way). */
  const inFlight = new Map<number, Promise<void>>();
  const budget = createIntakeBudget(options.prefetchBytes);
  let stopped = false;
  let signalled = false;
  let wake: (() => void) | undefined;

  const notify = (): void => {
    signalled = true;
    wake?.();
  };
  const pause = (ms: number): Promise<void> => {
    if (signalled) {
      signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        wake = undefined;
        signalled = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  };

  const run = (claimed: Claimed): void => {
    // UTF-16 length: cheap, and the same as the byte count for the ASCII JSON Magento writes.
    const bytes = claimed.delivery.body.length;
    const handled = new Promise<QueueDelivery>((admitted) => budget.admit(bytes, () => admitted(claimed.delivery)))
      .then(handler)
      .then(
        () => source.ack(claimed.key),
        (error: unknown) => {
          logger.warn({ err: error, queue: claimed.delivery.queue, messageId: claimed.delivery.messageId }, 'handler rejected message; handing it back');
          return source.release(claimed.key);
        },
      )
      .catch((error: unknown) => {
        // The row keeps its lease and comes back when it runs out: at least once, never lost.
        logger.error({ err: error, queue: claimed.delivery.queue, messageId: claimed.delivery.messageId }, 'could not settle message; it will be redelivered');
      })
      .finally(() => {
        budget.release(bytes);
        inFlight.delete(claimed.key);
        notify();
      });
    inFlight.set(claimed.key, handled);
  };

  const renewal = setInterval(
    () => {
      if (inFlight.size === 0) return;
      source.renew([...inFlight.keys()]).catch((error: unknown) => logger.warn({ err: error }, 'could not renew message leases'));
    },
    Math.max(100, (options.leaseSeconds * 1000) / 3),
  );
  renewal.unref();

  const loop = (async () => {
    while (!stopped) {
      const free = options.prefetch - inFlight.size;
      if (free <= 0 || budget.waiting > 0 || !budget.fits(1)) {
        await pause(options.pollIntervalMs);
        continue;
      }
      let full = false;
      try {
        const batch = await source.claim(free);
        full = batch.full;
        for (const claimed of batch.claimed) run(claimed);
      } catch (error) {
        logger.error({ err: error }, 'database queue poll failed; trying again');
      }
      if (!full && !stopped) await pause(options.pollIntervalMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
      clearInterval(renewal);
    },
  };
}
