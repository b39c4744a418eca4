import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthConfig } from '../config/health-config.ts';
import { coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { hourStart, type HealthDelta, type HealthRecord } from '../store/subscription-health.ts';
import type { HealthSource } from '../store/subscription-service/index.ts';
import type { Subscription } from '../types.ts';
import type { AlertSender } from './alerts.ts';
import type { AttemptReport } from './attempt.ts';

/*
 * Subscription health, kept as deliveries happen: the attempt runner reports every durable attempt (`onAttempt`),
 * the tracker adds it to per-subscription, per-hour deltas and writes them behind the deliveries. While a write
 * runs, new attempts gather and go together in the next one, so a busy sidecar writes once per group, and a
 * delivery never waits for its health figures. After each write the tracker decides, for the subscriptions whose
 * chains failed, the consequences:
 *
 * - `subscription.failing` when the consecutive failed chains cross 50/70/90/100 % of
 *   `auto_disable_min_failures` (each level once until a delivery succeeds);
 * - `chain.dead` for failed chains, at most one per subscription per hour, counting those since the last one;
 * - auto-disable: no successful delivery for `auto_disable_hours` (0 = never; counted from the last success, the
 *   first attempt seen or the last re-enabling) and at least `auto_disable_min_failures` failed chains within
 *   those hours: the subscription is set inactive with the reason kept, and `subscription.disabled` is sent.
 *   A 410 Gone disables at once (the delivery log does it with the attempt); the tracker keeps the reason.
 *
 * Chains that end without a delivery are "failed chains" here: dead (retries exhausted) and failed (not retryable).
 */

export interface HealthTracker extends HealthSource {
  /** Called from `onAttempt`: never throws, never waits. */
  record(report: AttemptReport): void;
  /** Sends `chain.dead` alerts held back by the hourly limit once their hour has passed; prunes old buckets. */
  sweep(): Promise<void>;
}

export interface HealthTrackerOptions {
  readonly store: Pick<Store, 'health' | 'subscriptions'>;
  readonly config: HealthConfig;
  readonly alerts: AlertSender;
  readonly logger: Logger;
  /** Attempts running or waiting in this process (the delivery limiter's lanes). */
  readonly inFlight: (subscriptionId: number) => number;
  /** Events the subscription's filter refused in this process (the rule runtime's count). */
  readonly filteredOut?: (subscriptionId: number) => number;
  /** Registry for the per-subscription series; none: not exported (ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION=0). */
  readonly perSubscriptionMetrics?: Registry | undefined;
  /** Injected clock (tests). */
  readonly now?: () => Date;
}

export const FAILING_LEVELS = [50, 70, 90, 100] as const;
const HOUR = 3_600_000;
/** Buckets older than this many hours beyond the auto-disable window (and a day) are pruned. */
const BUCKET_SLACK_HOURS = 2;

interface PendingDelta {
  subscription: Subscription;
  hourStart: Date;
  at: Date;
  succeeded: number;
  failed: number;
  chainsFailed: number;
  lastSuccessAt?: Date;
  lastFailure?: { at: Date; status: number | null; response: string };
  consecutiveAfterSuccess?: number;
  lastFailedChain?: { uuid: string; eventName: string; status: string; response: string };
  gone?: string;
}

/** The highest failing level the count has reached, 0 for none. */
export function failingLevel(consecutiveFailures: number, threshold: number): number {
  let reached = 0;
  for (const level of FAILING_LEVELS) if (consecutiveFailures >= Math.ceil((threshold * level) / 100)) reached = level;
  return reached;
}

function subscriptionRef(subscription: Subscription): Record<string, unknown> {
  return { id: subscription.id, eventName: subscription.eventName, recipientUrl: subscription.recipientUrl, sink: subscription.metadata };
}

function metric<T extends Counter<string> | Gauge<string>>(registry: Registry, name: string, build: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? build();
}

export function createHealthTracker(options: HealthTrackerOptions): HealthTracker {
  const { store, config, alerts } = options;
  const logger = options.logger.child({ component: 'health' });
  const now = options.now ?? (() => new Date());
  const pending = new Map<string, PendingDelta>();
  let writing: Promise<void> | undefined;

  const registry = options.perSubscriptionMetrics;
  const perSubscription = registry
    ? {
        attempts: metric(registry, 'async_events_subscription_attempts_total', () => new Counter({ name: 'async_events_subscription_attempts_total', help: 'Delivery attempts per subscription by outcome (success, failure).', labelNames: ['subscription_id', 'outcome'], registers: [registry] })),
        consecutive: metric(registry, 'async_events_subscription_consecutive_failures', () => new Gauge({ name: 'async_events_subscription_consecutive_failures', help: 'Chains in a row that ended without a delivery, per subscription.', labelNames: ['subscription_id'], registers: [registry] })),
        active: metric(registry, 'async_events_subscription_active', () => new Gauge({ name: 'async_events_subscription_active', help: '1 while the subscription is active, 0 once disabled (auto-disable, 410).', labelNames: ['subscription_id'], registers: [registry] })),
      }
    : undefined;

  function record(report: AttemptReport): void {
    const at = now();
    const hour = hourStart(at);
    const key = `${report.subscription.id}:${hour.getTime()}`;
    let delta = pending.get(key);
    if (!delta) {
      delta = { subscription: report.subscription, hourStart: hour, at, succeeded: 0, failed: 0, chainsFailed: 0 };
      pending.set(key, delta);
    }
    delta.at = at;
    delta.subscription = report.subscription;
    const { outcome } = report;
    if (outcome.success) {
      delta.succeeded++;
      delta.lastSuccessAt = at;
      delta.consecutiveAfterSuccess = 0;
    } else {
      delta.failed++;
      delta.lastFailure = { at, status: outcome.statusCode ?? null, response: outcome.responseData };
      if (report.chainStatus === 'dead' || report.chainStatus === 'failed') {
        delta.chainsFailed++;
        if (delta.consecutiveAfterSuccess !== undefined) delta.consecutiveAfterSuccess++;
        delta.lastFailedChain = { uuid: report.payload.uuid, eventName: report.payload.eventName, status: report.chainStatus, response: outcome.responseData.slice(0, 500) };
      }
      if (outcome.disableSubscription) delta.gone = outcome.responseData.slice(0, 500);
    }
    perSubscription?.attempts.inc({ subscription_id: String(report.subscription.id), outcome: outcome.success ? 'success' : 'failure' });
    if (!writing) writing = writeAll().finally(() => (writing = undefined));
  }

  async function writeAll(): Promise<void> {
    // Let the attempts of this tick gather first.
    await Promise.resolve();
    while (pending.size > 0) {
      const batch = [...pending.values()];
      pending.clear();
      const deltas: HealthDelta[] = batch.map((d) => ({
        subscriptionId: d.subscription.id,
        hourStart: d.hourStart,
        at: d.at,
        succeeded: d.succeeded,
        failed: d.failed,
        chainsFailed: d.chainsFailed,
        ...(d.lastSuccessAt ? { lastSuccessAt: d.lastSuccessAt } : {}),
        ...(d.lastFailure ? { lastFailure: d.lastFailure } : {}),
        ...(d.consecutiveAfterSuccess !== undefined ? { consecutiveAfterSuccess: d.consecutiveAfterSuccess } : {}),
      }));
      try {
        await store.health.apply(deltas);
      } catch (error) {
        // Health figures are an aid, not a record: losing one group's counts must not stop anything else.
        logger.warn({ err: coerceError(error), subscriptions: deltas.length }, 'cannot write subscription health; these attempts are not counted');
        continue;
      }
      try {
        await consequences(batch);
      } catch (error) {
        logger.warn({ err: coerceError(error) }, 'subscription health: checking alerts and auto-disable failed');
      }
    }
  }

  async function consequences(batch: readonly PendingDelta[]): Promise<void> {
    const bySubscription = new Map<number, { subscription: Subscription; chainsFailed: number; lastFailedChain?: PendingDelta['lastFailedChain']; gone?: string }>();
    for (const d of batch) {
      const entry = bySubscription.get(d.subscription.id) ?? { subscription: d.subscription, chainsFailed: 0 };
      entry.subscription = d.subscription;
      entry.chainsFailed += d.chainsFailed;
      if (d.lastFailedChain) entry.lastFailedChain = d.lastFailedChain;
      if (d.gone !== undefined) entry.gone = d.gone;
      bySubscription.set(d.subscription.id, entry);
    }
    const concerned = [...bySubscription.values()].filter((e) => e.chainsFailed > 0 || e.gone !== undefined);
    // Only failed chains have consequences; a batch of deliveries costs no read (unless its gauges are exported).
    if (concerned.length === 0 && !perSubscription) return;
    const records = await store.health.get((perSubscription ? [...bySubscription.values()] : concerned).map((e) => e.subscription.id));
    if (perSubscription) for (const [id, r] of records) perSubscription.consecutive.set({ subscription_id: String(id) }, r.consecutiveFailures);
    if (concerned.length === 0) return;
    const [threshold, hours] = await Promise.all([config.autoDisableMinFailures(), config.autoDisableHours()]);
    for (const entry of concerned) {
      const record = records.get(entry.subscription.id);
      if (!record) continue;
      try {
        await consequencesOf(entry, record, threshold, hours);
      } catch (error) {
        logger.warn({ err: coerceError(error), subscriptionId: entry.subscription.id }, 'subscription health: checking alerts and auto-disable failed');
      }
    }
  }

  async function consequencesOf(entry: { subscription: Subscription; chainsFailed: number; lastFailedChain?: PendingDelta['lastFailedChain']; gone?: string }, record: HealthRecord, threshold: number, hours: number): Promise<void> {
    if (entry.gone !== undefined) await disabledByGone(entry.subscription, record, entry.gone);
    if (entry.chainsFailed === 0) return;
    await deadAlert(entry.subscription, record, entry.lastFailedChain);
    const level = failingLevel(record.consecutiveFailures, threshold);
    if (level > record.alertLevel && (await store.health.raiseAlertLevel(record.subscriptionId, level))) {
      alerts.send('subscription.failing', {
        subscription: subscriptionRef(entry.subscription),
        level,
        consecutiveFailures: record.consecutiveFailures,
        threshold,
        lastFailure: record.lastFailureAt ? { at: record.lastFailureAt.toISOString(), statusCode: record.lastFailureStatus, response: record.lastFailureResponse ?? '' } : null,
      });
    }
    if (entry.gone === undefined) await maybeAutoDisable(entry.subscription, record, hours, threshold);
  }

  async function disabledByGone(subscription: Subscription, record: HealthRecord, response: string): Promise<void> {
    const at = now();
    const reason = `The recipient answered 410 Gone at ${at.toISOString()}: ${response}`.slice(0, 1000);
    await store.health.markDisabled(subscription.id, reason, at);
    perSubscription?.active.set({ subscription_id: String(subscription.id) }, 0);
    alerts.send('subscription.disabled', { subscription: subscriptionRef(subscription), cause: 'gone', reason, consecutiveFailures: record.consecutiveFailures, lastSuccessAt: record.lastSuccessAt?.toISOString() ?? null });
  }

  async function maybeAutoDisable(subscription: Subscription, record: HealthRecord, hours: number, threshold: number): Promise<void> {
    if (hours === 0) return;
    const at = now();
    const window = hours * HOUR;
    if (at.getTime() - Math.max(record.lastSuccessAt?.getTime() ?? 0, record.trackedSince.getTime()) < window) return;
    const current = await store.subscriptions.get(subscription.id);
    if (!current?.active) return;
    // A change to the subscription (a new URL, re-enabled in Magento's admin) starts the count over too.
    if (current.modified && at.getTime() - current.modified.getTime() < window) return;
    const failedChains = await store.health.failedChainsSince(subscription.id, new Date(at.getTime() - window));
    if (failedChains < threshold) return;
    const reason = `Auto-disabled at ${at.toISOString()}: no successful delivery for ${hours} h and ${failedChains} failed chains in that time (system/async_events/auto_disable_hours = ${hours}, auto_disable_min_failures = ${threshold})`;
    await store.subscriptions.update(subscription.id, { active: false });
    await store.health.markDisabled(subscription.id, reason, at);
    perSubscription?.active.set({ subscription_id: String(subscription.id) }, 0);
    alerts.send('subscription.disabled', {
      subscription: subscriptionRef(current),
      cause: 'auto-disable',
      reason,
      failedChains,
      consecutiveFailures: record.consecutiveFailures,
      lastSuccessAt: record.lastSuccessAt?.toISOString() ?? null,
    });
  }

  /** One `chain.dead` per subscription per hour; the deaths in between are counted into the next one. */
  async function deadAlert(subscription: Subscription, record: HealthRecord, lastChain: PendingDelta['lastFailedChain']): Promise<void> {
    if (record.deadUnalerted === 0) return;
    const at = now();
    if (!(await store.health.takeDeadAlert(subscription.id, record.deadUnalerted, new Date(at.getTime() - HOUR), at))) return;
    alerts.send('chain.dead', {
      subscription: subscriptionRef(subscription),
      count: record.deadUnalerted,
      since: record.deadAlertedAt?.toISOString() ?? null,
      lastChain: lastChain ?? null,
    });
  }

  async function settle(): Promise<void> {
    while (writing) await writing;
  }

  return {
    record(report) {
      try {
        record(report);
      } catch (error) {
        logger.warn({ err: coerceError(error) }, 'cannot count an attempt in subscription health');
      }
    },
    settle,
    inFlight: (id) => options.inFlight(id),
    filteredOut: (id) => options.filteredOut?.(id) ?? 0,
    now,
    async sweep() {
      await settle();
      const at = now();
      for (const record of await store.health.pendingDeadAlerts(new Date(at.getTime() - HOUR))) {
        const subscription = await store.subscriptions.get(record.subscriptionId);
        if (!subscription) continue;
        await deadAlert(subscription, record, undefined);
      }
      const hours = await config.autoDisableHours();
      await store.health.pruneBuckets(new Date(at.getTime() - (Math.max(hours, 24) + BUCKET_SLACK_HOURS) * HOUR));
    },
  };
}
