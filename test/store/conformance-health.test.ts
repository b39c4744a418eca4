import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { hourStart, MAX_FAILURE_RESPONSE, type HealthDelta } from '../../src/store/subscription-health.ts';
import { composeHealth, readHealth } from '../../src/store/subscription-service/health.ts';
import { describeWith } from '../support/services.ts';
import { BACKENDS, openStore } from './backends.ts';

/* Subscription health storage on both databases: relative updates, compare-and-set alert bookkeeping, buckets. */

const HOUR = 3_600_000;
const T0 = new Date('2026-03-02T10:15:00Z');

function delta(subscriptionId: number, at: Date, change: Partial<HealthDelta>): HealthDelta {
  return { subscriptionId, hourStart: hourStart(at), at, succeeded: 0, failed: 0, chainsFailed: 0, ...change };
}

describe.each(BACKENDS)('subscription health store on $name', (backend) => {
  describeWith(backend.services, `health (${backend.name})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let id: number;

    beforeAll(async () => {
      const created = await backend.newDatabase();
      drop = created.drop;
      store = await openStore(created.settings, 'hp_');
      await store.migrate();
      id = (await store.subscriptions.create({ eventName: 'health.event', recipientUrl: 'https://example.com/h', verificationToken: 't', metadata: 'http' })).id;
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('adds attempts and failed chains, resets the consecutive count on a delivery, keeps the last failure', async () => {
      const failure = { at: T0, status: 503, response: 'x'.repeat(MAX_FAILURE_RESPONSE + 50) };
      await store.health.apply([delta(id, T0, { failed: 3, chainsFailed: 2, lastFailure: failure })]);
      await store.health.apply([delta(id, T0, { failed: 1, chainsFailed: 1, lastFailure: { ...failure, response: '503 Service Unavailable' } })]);
      let record = (await store.health.get([id])).get(id);
      expect(record).toMatchObject({ consecutiveFailures: 3, lastFailureStatus: 503, lastFailureResponse: '503 Service Unavailable', lastSuccessAt: null, trackedSince: T0, deadUnalerted: 3 });

      const later = new Date(T0.getTime() + 60_000);
      // A delivered chain then one more failed chain in the same group: the count restarts at 1.
      await store.health.apply([delta(id, later, { succeeded: 2, failed: 1, chainsFailed: 1, lastSuccessAt: later, consecutiveAfterSuccess: 1 })]);
      record = (await store.health.get([id])).get(id);
      expect(record).toMatchObject({ consecutiveFailures: 1, lastSuccessAt: later, alertLevel: 0, trackedSince: T0, deadUnalerted: 4 });

      const buckets = (await store.health.buckets([id], new Date(T0.getTime() - HOUR))).get(id);
      expect(buckets).toEqual([{ hourStart: hourStart(T0), succeeded: 2, failed: 5, chainsFailed: 4 }]);
      expect(await store.health.failedChainsSince(id, T0)).toBe(4);
      expect(await store.health.failedChainsSince(id, new Date(T0.getTime() + HOUR))).toBe(0);
    });

    it('raises the failing-alert level only upwards, once per level', async () => {
      expect(await store.health.raiseAlertLevel(id, 50)).toBe(true);
      expect(await store.health.raiseAlertLevel(id, 50)).toBe(false);
      expect(await store.health.raiseAlertLevel(id, 70)).toBe(true);
      expect(await store.health.raiseAlertLevel(id, 50)).toBe(false);
      expect((await store.health.get([id])).get(id)?.alertLevel).toBe(70);
    });

    it('takes chain.dead alerts at most once an hour, for the deaths counted so far', async () => {
      const record = (await store.health.get([id])).get(id);
      const untold = record?.deadUnalerted ?? 0;
      expect(untold).toBe(4);
      const now = new Date(T0.getTime() + 2 * 60_000);
      expect(await store.health.pendingDeadAlerts(new Date(now.getTime() - HOUR))).toHaveLength(1);
      expect(await store.health.takeDeadAlert(id, untold, new Date(now.getTime() - HOUR), now)).toBe(true);
      // A second taker (another replica) with the same view loses.
      expect(await store.health.takeDeadAlert(id, untold, new Date(now.getTime() - HOUR), now)).toBe(false);
      await store.health.apply([delta(id, now, { failed: 1, chainsFailed: 1 })]);
      const soon = new Date(now.getTime() + 10 * 60_000);
      expect(await store.health.takeDeadAlert(id, 1, new Date(soon.getTime() - HOUR), soon)).toBe(false);
      expect(await store.health.pendingDeadAlerts(new Date(soon.getTime() - HOUR))).toHaveLength(0);
      const afterHour = new Date(now.getTime() + HOUR);
      const pending = await store.health.pendingDeadAlerts(new Date(afterHour.getTime() - HOUR));
      expect(pending.map((r) => [r.subscriptionId, r.deadUnalerted])).toEqual([[id, 1]]);
      expect(await store.health.takeDeadAlert(id, 1, new Date(afterHour.getTime() - HOUR), afterHour)).toBe(true);
      expect((await store.health.get([id])).get(id)).toMatchObject({ deadUnalerted: 0, deadAlertedAt: afterHour });
    });

    it('keeps a disabled reason until re-enabled, which restarts the count', async () => {
      const at = new Date(T0.getTime() + 3 * HOUR);
      await store.health.markDisabled(id, 'Auto-disabled: testing', at);
      expect((await store.health.get([id])).get(id)).toMatchObject({ disabledReason: 'Auto-disabled: testing', disabledAt: at });
      const again = new Date(at.getTime() + HOUR);
      await store.health.clearDisabled(id, again);
      expect((await store.health.get([id])).get(id)).toMatchObject({ disabledReason: null, disabledAt: null, consecutiveFailures: 0, alertLevel: 0, trackedSince: again });
      // A subscription never delivered to gets its row from the disabling itself.
      const other = await store.subscriptions.create({ eventName: 'health.gone', recipientUrl: 'https://example.com/g', verificationToken: 't', metadata: 'http' });
      await store.health.markDisabled(other.id, 'The recipient answered 410 Gone', at);
      expect((await store.health.get([other.id])).get(other.id)).toMatchObject({ disabledReason: 'The recipient answered 410 Gone', trackedSince: at });
    });

    it('composes success rates over sliding windows and prunes old buckets', async () => {
      const sub = await store.subscriptions.create({ eventName: 'health.rates', recipientUrl: 'https://example.com/r', verificationToken: 't', metadata: 'http' });
      const now = new Date('2026-03-05T12:15:00Z');
      const previous = new Date('2026-03-05T11:30:00Z');
      const dayAgo = new Date('2026-03-04T12:30:00Z');
      await store.health.apply([
        delta(sub.id, dayAgo, { succeeded: 100 }),
        delta(sub.id, previous, { succeeded: 4, failed: 4 }),
        delta(sub.id, now, { succeeded: 1, failed: 3, chainsFailed: 1, lastSuccessAt: now, consecutiveAfterSuccess: 1, lastFailure: { at: now, status: null, response: 'connect ECONNREFUSED' } }),
      ]);
      const health = (await readHealth(store.health, [sub], { settle: async () => undefined, inFlight: () => 2, now: () => now })).get(sub.id);
      // Last hour: 12:00–12:15 in full plus 75 % of 11:00–12:00.
      expect(health?.attempts.lastHour).toEqual({ succeeded: 4, failed: 6 });
      expect(health?.successRate.lastHour).toBe(0.4);
      // Last day: 75 % of the bucket 24 hours back too.
      expect(health?.attempts.lastDay).toEqual({ succeeded: 80, failed: 7 });
      expect(health).toMatchObject({ status: 'failing', consecutiveFailures: 1, inFlight: 2, filteredOut: 0, lastFailure: { statusCode: null, response: 'connect ECONNREFUSED' } });
      expect(health?.hourly.map((b) => b.hourStart.toISOString())).toEqual(['2026-03-05T11:00:00.000Z', '2026-03-05T12:00:00.000Z']);

      const idle = composeHealth(sub, undefined, [], now, 0);
      expect(idle).toMatchObject({ status: 'idle', successRate: { lastHour: null, lastDay: null }, lastFailure: null });
      expect(composeHealth({ ...sub, active: false }, undefined, [], now, 0).status).toBe('disabled');

      const pruned = await store.health.pruneBuckets(new Date('2026-03-05T00:00:00Z'));
      expect(pruned).toBeGreaterThanOrEqual(2);
      expect((await store.health.buckets([sub.id], new Date('2026-03-01T00:00:00Z'))).get(sub.id)).toHaveLength(2);
      await store.health.forget(sub.id);
      expect((await store.health.get([sub.id])).size).toBe(0);
      expect((await store.health.buckets([sub.id], new Date('2026-03-01T00:00:00Z'))).size).toBe(0);
    });
  });
});
