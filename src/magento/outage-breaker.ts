import { AsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { EventDefinition, StoreId } from '../types.ts';
import type { MagentoCallback } from './callback.ts';
import { isRetryableCallbackError, type CallbackFault, type MagentoCallbackError } from './callback-error.ts';

/** What the rest of the sidecar may know about Magento: a short state, never raw error text (it reaches /readyz). */
export type MagentoAvailability =
  | { readonly reachable: true }
  | { readonly reachable: false; readonly since: Date; readonly fault: Exclude<CallbackFault, 'permanent'> };

export interface GuardedCallback extends MagentoCallback {
  availability(): MagentoAvailability;
}

export interface OutageBreakerOptions {
  readonly logger: Logger;
  /** Where callbacks go, for the log lines (no credentials in it). */
  readonly url: string | undefined;
  /** Wait before the first probe after a failure, doubling per failed probe up to `maxDelayMs` (production: 60 s). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called on every change of availability (the Prometheus gauge). */
  readonly onChange?: (availability: MagentoAvailability) => void;
}

/** The longest a held trigger message waits between two tries while Magento is down. */
export const MAX_CALLBACK_BACKOFF_MS = 60_000;

const SETTING_TO_CHECK: Record<Exclude<CallbackFault, 'permanent'>, string> = {
  outage: 'check that Magento is up and that ASYNC_EVENTS_MAGENTO_URL points at it',
  credentials: 'check the integration token in ASYNC_EVENTS_MAGENTO_TOKEN and its ACL resources',
  unconfigured: 'set ASYNC_EVENTS_MAGENTO_URL',
};

/**
 * A circuit breaker in front of the Magento callback. While Magento answers, calls pass straight through. Once a
 * call fails in a way that clears by itself or by fixing a setting (an outage, 401/403, no URL), the breaker opens:
 * every caller holds its trigger message (unacknowledged, so nothing is lost and nothing is parked) and waits, and
 * one caller at a time probes Magento with its real call, after a delay doubling up to a minute. The first answer
 * closes the breaker and every waiting caller goes on. Holding the messages also pauses intake: the consumers'
 * prefetch is full of held messages, so the broker or table keeps the rest.
 *
 * Only permanent answers (400, 404 for the entity, no route) reach the caller as errors, to be parked.
 */
export function guardAgainstOutages(callback: MagentoCallback, options: OutageBreakerOptions): GuardedCallback {
  const logger = options.logger.child({ stage: 'magento-callback' });
  const initialDelayMs = options.initialDelayMs ?? 1000;
  const maxDelayMs = Math.min(options.maxDelayMs ?? MAX_CALLBACK_BACKOFF_MS, MAX_CALLBACK_BACKOFF_MS);
  const url = options.url ?? '(no URL configured)';
  let availability: MagentoAvailability = { reachable: true };
  let failedProbes = 0;
  let nextProbeAt = 0;
  let probing = false;
  const waiters = new Set<() => void>();

  const wakeAll = (): void => {
    for (const wake of [...waiters]) wake();
  };

  const change = (next: MagentoAvailability): void => {
    availability = next;
    options.onChange?.(next);
    wakeAll();
  };

  const opened = (error: MagentoCallbackError, probe: boolean): void => {
    const fault = error.fault === 'permanent' ? 'outage' : error.fault;
    if (availability.reachable || availability.fault !== fault) {
      const since = availability.reachable ? new Date() : availability.since;
      logger.error({ url, fault, err: error }, `Magento at ${url} is not answering callbacks (${fault}): holding trigger messages and retrying; ${SETTING_TO_CHECK[fault]}`);
      failedProbes = availability.reachable ? 0 : failedProbes;
      change({ reachable: false, since, fault });
    }
    // Calls already in flight when Magento went down fail together; only probes make the wait longer.
    if (probe || nextProbeAt <= Date.now()) {
      failedProbes++;
      nextProbeAt = Date.now() + Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failedProbes - 1, 20));
    }
    wakeAll();
  };

  const answered = (): void => {
    if (availability.reachable) return;
    logger.info({ url, unreachableMs: Date.now() - availability.since.getTime() }, `Magento at ${url} answers callbacks again: resuming held trigger messages`);
    failedProbes = 0;
    nextProbeAt = 0;
    change({ reachable: true });
  };

  /** Resolves `probe` when this caller may try Magento while the breaker is open, `closed` once it closed. */
  const turn = async (signal: AbortSignal | undefined): Promise<'closed' | 'probe'> => {
    for (;;) {
      if (signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', 'held trigger message handed back: shutting down');
      if (availability.reachable) return 'closed';
      if (!probing && Date.now() >= nextProbeAt) {
        probing = true;
        return 'probe';
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, probing ? maxDelayMs : Math.max(1, nextProbeAt - Date.now()));
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  };

  return {
    async fetchEventData(event: EventDefinition, args: Readonly<Record<string, unknown>>, storeId: StoreId, signal?: AbortSignal): Promise<string> {
      for (;;) {
        const probe = availability.reachable ? false : (await turn(signal)) === 'probe';
        try {
          const data = await callback.fetchEventData(event, args, storeId, signal);
          answered();
          return data;
        } catch (error) {
          if (isRetryableCallbackError(error)) {
            opened(error, probe);
            continue;
          }
          // A permanent answer is still an answer: Magento is up.
          if (error instanceof AsyncEventsError && error.code === 'CALLBACK_FAILED') answered();
          throw error;
        } finally {
          if (probe) {
            probing = false;
            wakeAll();
          }
        }
      }
    },
    availability: () => availability,
    close: () => callback.close(),
  };
}

/** The /readyz line for Magento: a short state, no error text. */
export function describeAvailability(availability: MagentoAvailability): string {
  if (availability.reachable) return 'answering callbacks';
  const since = availability.since.toISOString();
  if (availability.fault === 'credentials') return `Magento refuses the integration token since ${since}`;
  if (availability.fault === 'unconfigured') return 'no Magento URL configured';
  return `Magento unreachable since ${since}`;
}
