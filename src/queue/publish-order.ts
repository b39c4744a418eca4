import { AsyncEventsError } from '../errors.ts';
import type { PublishOrderOptions } from './transport.ts';

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
