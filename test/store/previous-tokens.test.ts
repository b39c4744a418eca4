import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPreviousTokenCache } from '../../src/sinks/previous-token-cache.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import { MAX_PREVIOUS_TOKENS, type PreviousToken, type PreviousTokenRepository } from '../../src/store/previous-tokens.ts';
import type { Store } from '../../src/store/store.ts';
import { cleanPreviousTokens } from '../../src/store/token-cleanup.ts';
import type { Subscription } from '../../src/types.ts';
import { describeWith } from '../support/services.ts';
import { BACKENDS, CRYPT_KEY, openStore } from './backends.ts';

/*
 * Replaced verification tokens: kept encrypted in our table, read back only inside the grace period (expired rows
 * go as they are met, and by the cleanup), capped per subscription, removed with their subscription. The http
 * sink's cache answers from memory and reloads on rotation, on a new current token and after its TTL.
 */

const HOUR = 3_600_000;
const T0 = new Date('2026-03-01T10:00:00Z');
const at = (hours: number): Date => new Date(T0.getTime() + hours * HOUR);

for (const backend of BACKENDS) {
  describeWith(backend.services, `previous tokens on ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const database = await backend.newDatabase();
      drop = database.drop;
      store = await openStore(database.settings, 'pfx_');
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    const subscribe = () => store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: 'https://r.example.com/hook', verificationToken: 'current', metadata: 'http' });
    const rows = async (subscriptionId: number) =>
      store.db.selectFrom('async_event_previous_token').selectAll().where('subscription_id', '=', subscriptionId).execute();

    it('stores a replaced token encrypted like the current one and reads it back only within the grace period', async () => {
      const subscription = await subscribe();
      await store.previousTokens.keep(subscription.id, 'old-token-1', at(0));
      const [row] = await rows(subscription.id);
      expect(row?.verification_token).not.toContain('old-token-1');
      expect(createEncryptor([CRYPT_KEY]).isEncrypted(row?.verification_token ?? '')).toBe(true);
      expect(createEncryptor([CRYPT_KEY]).decrypt(row?.verification_token ?? '')).toBe('old-token-1');

      const within = await store.previousTokens.since(subscription.id, at(23 - 24));
      expect(within.map((t) => t.token)).toEqual(['old-token-1']);
      expect(within[0]?.replacedAt.toISOString()).toBe(T0.toISOString());
      expect(await rows(subscription.id)).toHaveLength(1);

      // 24 hours later the period (from 24 h before now) no longer contains the replacement: gone on read.
      expect(await store.previousTokens.since(subscription.id, at(24 - 24))).toEqual([]);
      expect(await rows(subscription.id)).toHaveLength(0);
    });

    it(`keeps the ${MAX_PREVIOUS_TOKENS} newest per subscription, newest first, and drops them with the subscription`, async () => {
      const subscription = await subscribe();
      const other = await subscribe();
      for (let i = 1; i <= MAX_PREVIOUS_TOKENS + 2; i++) await store.previousTokens.keep(subscription.id, `old-${i}`, at(i / 60));
      await store.previousTokens.keep(other.id, 'other-old', at(0));
      const kept = await store.previousTokens.since(subscription.id, at(-1));
      expect(kept.map((t) => t.token)).toEqual(Array.from({ length: MAX_PREVIOUS_TOKENS }, (_, i) => `old-${MAX_PREVIOUS_TOKENS + 2 - i}`));
      expect(await store.subscriptions.delete(subscription.id)).toBe(true);
      expect(await rows(subscription.id)).toHaveLength(0);
      expect((await store.previousTokens.since(other.id, at(-1))).map((t) => t.token)).toEqual(['other-old']);
    });

    it('the cleanup job deletes what the grace period (as configured now) no longer covers', async () => {
      // It works on every subscription's rows: start from none.
      await store.db.deleteFrom('async_event_previous_token').execute();
      const subscription = await subscribe();
      await store.previousTokens.keep(subscription.id, 'early', at(0));
      await store.previousTokens.keep(subscription.id, 'late', at(10));
      const config = createAdminConfig(store.configValues, {});
      expect(await cleanPreviousTokens(config, store, silentLogger(), at(20))).toBe(0);
      expect(await cleanPreviousTokens(config, store, silentLogger(), at(24.5))).toBe(1);
      expect((await rows(subscription.id)).length).toBe(1);
      // An admin shortening the period (after a leak) takes effect at the next run.
      const shortened = createAdminConfig(store.configValues, { 'system/async_events/token_rotation_grace_hours': '0' });
      expect(await shortened.tokenRotationGraceHours()).toBe(0);
      expect(await cleanPreviousTokens(shortened, store, silentLogger(), at(10.5))).toBe(1);
      expect(await rows(subscription.id)).toHaveLength(0);
    });
  });
}

describe('previous token cache', () => {
  function fakeRepository(tokens: Map<number, PreviousToken[]>) {
    const reads: { id: number; since: Date }[] = [];
    const repository: Pick<PreviousTokenRepository, 'since'> = {
      async since(id, since) {
        reads.push({ id, since });
        return (tokens.get(id) ?? []).filter((t) => t.replacedAt > since);
      },
    };
    return { repository, reads };
  }
  const subscription = (id: number, token: string): Subscription => ({
    id, eventName: 'e', recipientUrl: 'https://r.example.com', verificationToken: token, active: true, subscribedAt: null, modified: null, metadata: 'http', storeId: 0,
  });

  it('reads each subscription once per TTL, reloads on invalidate and on a new current token, and ends the grace period on time', async () => {
    let now = at(0);
    let graceHours = 24;
    const tokens = new Map<number, PreviousToken[]>([[1, [{ token: 'old-a', replacedAt: at(-1) }]]]);
    const { repository, reads } = fakeRepository(tokens);
    const cache = createPreviousTokenCache({ repository, graceHours: async () => graceHours, logger: silentLogger(), ttlMs: 10_000, now: () => now });

    // Many deliveries at once: one read.
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.tokensFor(subscription(1, 'current-b'))));
    expect(answers.every((a) => a.length === 1 && a[0] === 'old-a')).toBe(true);
    expect(reads).toHaveLength(1);
    now = new Date(now.getTime() + 9_000);
    expect(await cache.tokensFor(subscription(1, 'current-b'))).toEqual(['old-a']);
    expect(reads).toHaveLength(1);

    // Rotated here: the service tells the cache.
    tokens.set(1, [{ token: 'current-b', replacedAt: now }, { token: 'old-a', replacedAt: at(-1) }]);
    cache.invalidate(1);
    expect(await cache.tokensFor(subscription(1, 'current-c'))).toEqual(['current-b', 'old-a']);
    expect(reads).toHaveLength(2);

    // Rotated on another replica: the delivery's subscription has a token the entry was not read for.
    tokens.set(1, [{ token: 'current-c', replacedAt: now }, ...(tokens.get(1) ?? [])]);
    expect(await cache.tokensFor(subscription(1, 'current-d'))).toEqual(['current-c', 'current-b', 'old-a']);
    expect(reads).toHaveLength(3);

    // The TTL: rows deleted elsewhere disappear.
    tokens.set(1, [{ token: 'current-c', replacedAt: now }]);
    now = new Date(now.getTime() + 10_000);
    expect(await cache.tokensFor(subscription(1, 'current-d'))).toEqual(['current-c']);
    expect(reads).toHaveLength(4);

    // The grace period is applied when used, even from a fresh entry: one second past it, nothing co-signs.
    now = new Date(now.getTime() - 10_000 + 24 * HOUR + 1000);
    expect(await cache.tokensFor(subscription(1, 'current-d'))).toEqual([]);

    // A shorter setting applies at once; 0 means no previous token and no read.
    tokens.set(1, [{ token: 'recent', replacedAt: new Date(now.getTime() - 2 * HOUR) }]);
    graceHours = 1;
    cache.invalidate(1);
    expect(await cache.tokensFor(subscription(1, 'current-d'))).toEqual([]);
    graceHours = 0;
    const before = reads.length;
    cache.invalidate(1);
    expect(await cache.tokensFor(subscription(1, 'current-d'))).toEqual([]);
    expect(reads).toHaveLength(before);
  });

  it('signs with the current token only (and the last tokens it read) when the database does not answer', async () => {
    let failing = false;
    let now = at(0);
    const repository: Pick<PreviousTokenRepository, 'since'> = {
      async since() {
        if (failing) throw new Error('database down');
        return [{ token: 'old', replacedAt: at(-1) }];
      },
    };
    const cache = createPreviousTokenCache({ repository, graceHours: async () => 24, logger: silentLogger(), ttlMs: 1000, now: () => now });
    expect(await cache.tokensFor(subscription(2, 'cur'))).toEqual(['old']);
    failing = true;
    now = at(1);
    expect(await cache.tokensFor(subscription(2, 'cur'))).toEqual(['old']);
    expect(await cache.tokensFor(subscription(3, 'cur'))).toEqual([]);
  });
});
