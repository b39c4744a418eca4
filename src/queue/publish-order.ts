import { AsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PublishOrderHandler, PublishOrderOptions, QueueDelivery } from './transport.ts';

/*
 * What both transports' publish-order readers share: the checks of their options and the backoff after a rejected
 * batch. A rejected batch is handed again, never skipped, so a handler that keeps failing holds the reader: the
 * backoff keeps that from spinning.
 */

/** Pause between checks of whether publish order was enabled, while a reader waits for it. */
export const DEFAULT_PUBLISH_ORDER_CHECK_MS = 3000;
export const DEFAULT_SETTLE_MS = 3000;

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export function checkPublishOrderOptions(options: PublishOrderOptions): void {
  if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
    throw new AsyncEventsError('VALIDATION_FAILED', `maxBatch must be a whole number ≥ 1, got ${options.maxBatch}`);
  }
  if (options.settleMs !== undefined && (!Number.isFinite(options.settleMs) || options.settleMs < 0)) {
    throw new AsyncEventsError('VALIDATION_FAILED', `settleMs must be a number of milliseconds ≥ 0, got ${options.settleMs}`);
  }
}

/** Wait before handing a batch again after its `failures`-th rejection (1, 2, …): 100 ms doubling up to 5 s. */
export function batchBackoffMs(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
}

/**
 * Hands one batch to the handler until it resolves: a rejected batch is handed again after the backoff, never
 * skipped. Resolves true once the handler accepted it, false when `givenUp()` (asked after each rejection, before
 * and after the pause) says the reader can no longer hand it (stopped, its channel closed).
 */
export async function handUntilAccepted(
  handler: PublishOrderHandler,
  deliveriesOf: (failures: number) => QueueDelivery[],
  options: { readonly pause: Pause; readonly logger: Logger; givenUp(): boolean },
): Promise<boolean> {
  for (let failures = 0; ; ) {
    const deliveries = deliveriesOf(failures);
    try {
      await Promise.resolve(deliveries).then(handler);
      return true;
    } catch (error) {
      failures++;
      const delayMs = batchBackoffMs(failures);
      options.logger.warn({ err: error, first: deliveries[0]?.messageId, size: deliveries.length, failures, delayMs }, 'publish-order handler rejected a batch; handing it again');
      if (options.givenUp()) return false;
      await options.pause.sleep(delayMs);
      if (options.givenUp()) return false;
    }
  }
}

/** A pause that `interrupt()` ends early (a reader being stopped does not sit out its backoff). */
export interface Pause {
  sleep(ms: number): Promise<void>;
  interrupt(): void;
}

export function createPause(): Pause {
  let wake: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    interrupt() {
      wake?.();
    },
  };
}
