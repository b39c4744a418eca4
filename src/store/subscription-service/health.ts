import type { Subscription } from '../../types.ts';
import type { HealthRecord, HourBucket, SubscriptionHealthStore } from '../subscription-health.ts';
import { hourStart } from '../subscription-health.ts';

/*
 * The health of a subscription as every interface shows it (REST, GraphQL, console, metrics), composed from the
 * figures the health tracker keeps (src/delivery/health.ts) and the subscription itself.
 *
 * Success rates are over attempts. The buckets are clock hours, so "the last hour" and "the last day" are sliding
 * windows estimated the usual way: the current hour's counts plus the oldest hour's weighted by the part of it
 * still inside the window (at 10:15, the last hour is 10:00–10:15 plus 75 % of 9:00–10:00).
 */

export type HealthStatus = 'healthy' | 'failing' | 'disabled' | 'idle';

export interface AttemptCounts {
  readonly succeeded: number;
  readonly failed: number;
}

export interface SubscriptionHealth {
  readonly subscriptionId: number;
  /** disabled: inactive; failing: its last chain or attempt failed; healthy: its last one succeeded; idle: nothing yet. */
  readonly status: HealthStatus;
  /** Chains in a row that ended without a delivery (dead or failed). */
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: Date | null;
  readonly lastFailure: { readonly at: Date; readonly statusCode: number | null; readonly response: string } | null;
  /** Share of attempts that succeeded, 0–1; null without attempts in the window. */
  readonly successRate: { readonly lastHour: number | null; readonly lastDay: number | null };
  readonly attempts: { readonly lastHour: AttemptCounts; readonly lastDay: AttemptCounts };
  /** Attempts of this subscription running or waiting for a slot in this process. */
  readonly inFlight: number;
  /** Events the subscription's filter kept from it, counted by this process since it started. */
  readonly filteredOut: number;
  /** Why it was disabled (auto-disable, 410 Gone), while it stays inactive. */
  readonly disabledReason: string | null;
  readonly disabledAt: Date | null;
  /** The last 24 clock hours, oldest first (hours without attempts left out). */
  readonly hourly: readonly HourBucket[];
}

/** What the running sidecar adds to the stored figures; absent in one-shot commands and tests without one. */
export interface HealthSource {
  /** Resolves once the attempts seen so far are in the store. */
  settle(): Promise<void>;
  inFlight(subscriptionId: number): number;
  /** Events the subscription's filter refused in this process. */
  filteredOut?(subscriptionId: number): number;
  now(): Date;
}

const HOUR = 3_600_000;

function windowCounts(buckets: readonly HourBucket[], now: Date, hours: number): AttemptCounts {
  const current = hourStart(now).getTime();
  const elapsed = (now.getTime() - current) / HOUR;
  const oldest = current - hours * HOUR;
  let succeeded = 0;
  let failed = 0;
  for (const bucket of buckets) {
    const start = bucket.hourStart.getTime();
    if (start < oldest || start > current) continue;
    const weight = start === oldest ? 1 - elapsed : 1;
    succeeded += bucket.succeeded * weight;
    failed += bucket.failed * weight;
  }
  return { succeeded: Math.round(succeeded), failed: Math.round(failed) };
}

function rate(counts: AttemptCounts): number | null {
  const total = counts.succeeded + counts.failed;
  return total === 0 ? null : Math.round((counts.succeeded / total) * 10_000) / 10_000;
}

/**
 * The reason shows only while the subscription is still inactive from that disabling: a status change since (the
 * PHP admin enabled and disabled it again) leaves a `modified` after it.
 */
function currentReason(subscription: Subscription, record: HealthRecord | undefined): { reason: string | null; at: Date | null } {
  if (subscription.active || !record?.disabledReason || !record.disabledAt) return { reason: null, at: null };
  if (subscription.modified && subscription.modified.getTime() > record.disabledAt.getTime() + 5000) return { reason: null, at: null };
  return { reason: record.disabledReason, at: record.disabledAt };
}

export function composeHealth(subscription: Subscription, record: HealthRecord | undefined, buckets: readonly HourBucket[], now: Date, inFlight: number, filteredOut = 0): SubscriptionHealth {
  const lastHour = windowCounts(buckets, now, 1);
  const lastDay = windowCounts(buckets, now, 24);
  const lastSuccessAt = record?.lastSuccessAt ?? null;
  const lastFailureAt = record?.lastFailureAt ?? null;
  const consecutiveFailures = record?.consecutiveFailures ?? 0;
  const failing = consecutiveFailures > 0 || (lastFailureAt !== null && (lastSuccessAt === null || lastFailureAt > lastSuccessAt));
  const status: HealthStatus = !subscription.active ? 'disabled' : failing ? 'failing' : lastSuccessAt ? 'healthy' : 'idle';
  const disabled = currentReason(subscription, record);
  const dayStart = hourStart(now).getTime() - 23 * HOUR;
  return {
    subscriptionId: subscription.id,
    status,
    consecutiveFailures,
    lastSuccessAt,
    lastFailure: lastFailureAt ? { at: lastFailureAt, statusCode: record?.lastFailureStatus ?? null, response: record?.lastFailureResponse ?? '' } : null,
    successRate: { lastHour: rate(lastHour), lastDay: rate(lastDay) },
    attempts: { lastHour, lastDay },
    inFlight,
    filteredOut,
    disabledReason: disabled.reason,
    disabledAt: disabled.at,
    hourly: buckets.filter((b) => b.hourStart.getTime() >= dayStart),
  };
}

/** Health of each subscription, read in two queries whatever their number. */
export async function readHealth(store: SubscriptionHealthStore, subscriptions: readonly Subscription[], source: HealthSource | undefined): Promise<Map<number, SubscriptionHealth>> {
  await source?.settle();
  const now = source?.now() ?? new Date();
  const ids = subscriptions.map((s) => s.id);
  const [records, buckets] = await Promise.all([store.get(ids), store.buckets(ids, new Date(now.getTime() - 24 * HOUR))]);
  return new Map(subscriptions.map((s) => [s.id, composeHealth(s, records.get(s.id), buckets.get(s.id) ?? [], now, source?.inFlight(s.id) ?? 0, source?.filteredOut?.(s.id) ?? 0)]));
}
