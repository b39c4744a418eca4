import type { Logger } from '../logger.ts';
import { parseFieldSelection, selectFields, type FieldSelection } from '../magento/fields-selection.ts';
import { compileMatcher, type RecordMatcher } from '../search/evaluate.ts';
import { parseQuery } from '../search/query.ts';
import type { Subscription } from '../types.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';

/*
 * A subscription's rules at delivery time (issue 16), applied once Magento's data has been fetched, once for all
 * subscriptions of the event:
 * - `filter`: evaluated in memory on the response (`data.*` reads the response itself, plus event_name and store_id)
 *   by the search stage's evaluator, so it means what the same query means in the log search. An event it does not
 *   match starts no chain and is counted for the subscription.
 * - `fields`: Magento's REST `fields` selection, applied to the response text before the payload is built, so the
 *   one callback still serves every subscription and retries and replays carry the selected data.
 * - `max_per_second`: attempts wait for their turn (attempt.ts calls `holdForRate`), never fail for it.
 * - `headers` are the http sink's (it reads them from the subscription on every attempt).
 * A replay starts from the stored payload and never passes here: it ignores the filter.
 */

/** Counts of what the rules did, per subscription, since start or the last clear (health, metrics). */
export interface RuleStats {
  /** Events the subscription's filter kept from starting a chain. */
  filteredOut(subscriptionId: number): number;
  /** Every subscription with a filtered-out count, and its count. */
  filteredOutAll(): ReadonlyMap<number, number>;
  /** Deliveries of the subscription waiting for its max_per_second now. */
  rateWaiting(subscriptionId: number): number;
  /** Seconds deliveries of the subscription have waited for its max_per_second, in all. */
  rateWaitedSeconds(subscriptionId: number): number;
  /** Subscriptions whose deliveries were ever held to a rate. */
  rateLimited(): readonly number[];
  /** Forgets the counts of one subscription (e.g. deleted) or of all. */
  clear(subscriptionId?: number): void;
}

/** What the delivery stage keeps for the rules: one per process, built in app.ts. */
export interface RuleRuntime {
  readonly stats: RuleStats;
  /** Counts an event the subscription's filter refused. */
  countFilteredOut(subscriptionId: number): void;
  /** Resolves when the subscription may start its next delivery (at once without max_per_second). */
  holdForRate(subscription: Subscription, signal?: AbortSignal): Promise<void>;
}

export function createRuleRuntime(options: { rate?: RateLimiter } = {}): RuleRuntime {
  const rate = options.rate ?? createRateLimiter();
  const filtered = new Map<number, number>();
  const limited = new Set<number>();
  // Waited time counted before the last clear, so a clear restarts the subscription's total at 0.
  const waitedOffsetMs = new Map<number, number>();
  return {
    stats: {
      filteredOut: (id) => filtered.get(id) ?? 0,
      filteredOutAll: () => new Map(filtered),
      rateWaiting: (id) => rate.waiting(id),
      rateWaitedSeconds: (id) => (rate.waitedMs(id) - (waitedOffsetMs.get(id) ?? 0)) / 1000,
      rateLimited: () => [...limited],
      clear(id) {
        for (const key of id === undefined ? [...new Set([...filtered.keys(), ...limited])] : [id]) {
          filtered.delete(key);
          waitedOffsetMs.set(key, rate.waitedMs(key));
        }
      },
    },
    countFilteredOut(id) {
      filtered.set(id, (filtered.get(id) ?? 0) + 1);
    },
    async holdForRate(subscription, signal) {
      const perSecond = subscription.rules?.maxPerSecond;
      if (perSecond === undefined || !(perSecond > 0)) return;
      limited.add(subscription.id);
      await rate.take(subscription.id, perSecond, signal);
    },
  };
}

/** The event as its filter sees it. */
export interface FetchedEvent {
  readonly eventName: string;
  readonly storeId: string;
  /** Magento's response, as JSON text. */
  readonly data: string;
}

const matchers = new Map<string, RecordMatcher | null>();
const selections = new Map<string, FieldSelection | null>();

/** Parsed once per text; the service refused broken ones, so null only for rows written past it (by hand). */
function cached<T>(cache: Map<string, T | null>, text: string, parse: (text: string) => T): T | null {
  if (cache.has(text)) return cache.get(text) ?? null;
  let parsed: T | null;
  try {
    parsed = parse(text);
  } catch {
    parsed = null;
  }
  if (cache.size >= 1000) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

/**
 * The chains that start, each with the data its payload carries: those whose filter matches (or that have none),
 * with their `fields` selection applied. A rule stored broken (past the service) is skipped with a warning rather
 * than losing the event.
 */
export function applySubscriptionRules<T extends { readonly subscription: Subscription }>(
  ctx: { readonly rules?: RuleRuntime | undefined; readonly logger: Logger },
  pending: readonly T[],
  event: FetchedEvent,
): (T & { readonly data: string })[] {
  const started: (T & { readonly data: string })[] = [];
  for (const item of pending) {
    const { filter, fields } = item.subscription.rules ?? {};
    if (filter !== undefined) {
      const matcher = cached(matchers, filter, (text) => compileMatcher(parseQuery(text, { fields: 'filter' })));
      if (matcher === null) {
        ctx.logger.warn({ subscriptionId: item.subscription.id }, 'subscription filter does not parse; delivering unfiltered');
      } else if (!matcher({ eventName: event.eventName, storeId: event.storeId, document: event.data })) {
        ctx.rules?.countFilteredOut(item.subscription.id);
        continue;
      }
    }
    let data = event.data;
    if (fields !== undefined) {
      const selection = cached(selections, fields, parseFieldSelection);
      if (selection === null) ctx.logger.warn({ subscriptionId: item.subscription.id }, 'subscription fields selection does not parse; delivering every field');
      else data = selectFields(event.data, selection);
    }
    started.push({ ...item, data });
  }
  return started;
}
