import type { Logger } from '../logger.ts';
import type { PreviousToken, PreviousTokenRepository } from '../store/previous-tokens.ts';
import type { Subscription } from '../types.ts';

/*
 * The previous tokens the http sink co-signs with, from memory: a delivery never waits for a database read of its
 * own. An entry is reloaded when
 * - the subscription service replaced the token here (`invalidate`),
 * - the delivery's subscription has another current token than the one the entry was read for (a rotation on
 *   another replica shows here as soon as that replica's new token does, and its old token was stored first), or
 * - it is older than `ttlMs` (rows deleted elsewhere).
 * The grace period is applied at use time, with the current setting and clock, so a cached token stops signing
 * the moment its period ends.
 */

/** Entries older than this are read again. */
export const PREVIOUS_TOKEN_CACHE_MS = 10_000;
const MAX_ENTRIES = 10_000;

export interface PreviousTokenCache {
  /** Tokens replaced within the grace period, newest first, without the subscription's current one. */
  tokensFor(subscription: Subscription): Promise<readonly string[]>;
  /** Forgets a subscription's entry (its token was just replaced). */
  invalidate(subscriptionId: number): void;
}

export interface PreviousTokenCacheOptions {
  readonly repository: Pick<PreviousTokenRepository, 'since'>;
  /** `system/async_events/token_rotation_grace_hours`. */
  readonly graceHours: () => Promise<number>;
  readonly logger: Logger;
  readonly ttlMs?: number;
  readonly now?: () => Date;
}

interface Entry {
  readonly loadedAt: number;
  readonly forToken: string;
  readonly tokens: readonly PreviousToken[];
}

export function createPreviousTokenCache(options: PreviousTokenCacheOptions): PreviousTokenCache {
  const ttlMs = options.ttlMs ?? PREVIOUS_TOKEN_CACHE_MS;
  const now = options.now ?? (() => new Date());
  const entries = new Map<number, Entry>();
  const loading = new Map<number, Promise<Entry | undefined>>();
  // Bumped by invalidate, so a read that started before a rotation does not store its stale answer.
  const generations = new Map<number, number>();

  async function load(subscriptionId: number, forToken: string, since: Date, stale: Entry | undefined): Promise<Entry | undefined> {
    const generation = generations.get(subscriptionId) ?? 0;
    try {
      const entry: Entry = { loadedAt: now().getTime(), forToken, tokens: await options.repository.since(subscriptionId, since) };
      if ((generations.get(subscriptionId) ?? 0) === generation) {
        if (entries.size >= MAX_ENTRIES && !entries.has(subscriptionId)) entries.clear();
        entries.set(subscriptionId, entry);
      }
      return entry;
    } catch (error) {
      // The current token still signs; a receiver that only knows an old one rejects and the chain retries.
      options.logger.warn({ err: error, subscriptionId }, 'cannot read the previous verification tokens; signing with the current one only');
      return stale;
    }
  }

  return {
    async tokensFor(subscription) {
      const graceHours = await options.graceHours();
      if (graceHours <= 0) return [];
      const current = subscription.verificationToken;
      const at = now().getTime();
      const since = new Date(at - graceHours * 3_600_000);
      let entry = entries.get(subscription.id);
      if (!entry || entry.forToken !== current || at - entry.loadedAt >= ttlMs || at < entry.loadedAt) {
        let pending = loading.get(subscription.id);
        if (!pending) {
          pending = load(subscription.id, current, since, entry).finally(() => loading.delete(subscription.id));
          loading.set(subscription.id, pending);
        }
        entry = await pending;
        // A read already under way was for the token before this one: this delivery needs a fresh one.
        if (entry && entry.forToken !== current) entry = await load(subscription.id, current, since, entry);
      }
      if (!entry) return [];
      return entry.tokens.filter((t) => t.replacedAt.getTime() > since.getTime() && t.token !== current).map((t) => t.token);
    },

    invalidate(subscriptionId) {
      entries.delete(subscriptionId);
      generations.set(subscriptionId, (generations.get(subscriptionId) ?? 0) + 1);
    },
  };
}
