import { Counter, Gauge, type Registry } from 'prom-client';
import type { RuleStats } from '../delivery/subscription-rules.ts';

/*
 * Prometheus views of what subscription rules did (issue 16), read from the delivery stage's RuleStats when scraped:
 * events a filter kept from starting a chain, and deliveries held to max_per_second. Labelled by subscription id,
 * which only subscriptions with such a rule carry, so the label set stays as small as the subscriptions using them.
 */

const sources = new WeakMap<Registry, { stats: RuleStats }>();

/** Registers the rule metrics once per registry; a later call (another app in the same process) takes over the source. */
export function registerRuleMetrics(registry: Registry, stats: RuleStats, prefix = 'async_events_'): void {
  const existing = sources.get(registry);
  if (existing) {
    existing.stats = stats;
    return;
  }
  const source = { stats };
  sources.set(registry, source);
  const registers = [registry];
  new Counter({
    name: `${prefix}filtered_out_total`,
    help: "Events a subscription's filter kept from starting a delivery, by subscription.",
    labelNames: ['subscription_id'],
    registers,
    collect() {
      this.reset();
      for (const [id, count] of source.stats.filteredOutAll()) this.inc({ subscription_id: String(id) }, count);
    },
  });
  new Gauge({
    name: `${prefix}rate_limit_waiting`,
    help: "Deliveries waiting for their subscription's max_per_second now, by subscription.",
    labelNames: ['subscription_id'],
    registers,
    collect() {
      this.reset();
      for (const id of source.stats.rateLimited()) this.set({ subscription_id: String(id) }, source.stats.rateWaiting(id));
    },
  });
  new Counter({
    name: `${prefix}rate_limit_waited_seconds_total`,
    help: "Time deliveries waited for their subscription's max_per_second, by subscription.",
    labelNames: ['subscription_id'],
    registers,
    collect() {
      this.reset();
      for (const id of source.stats.rateLimited()) {
        const seconds = source.stats.rateWaitedSeconds(id);
        if (seconds > 0) this.inc({ subscription_id: String(id) }, seconds);
      }
    },
  });
}
