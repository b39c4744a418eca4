/**
 * Recent delivery durations per subscription, kept in this process (the log stores no durations), for the
 * console's "slowest subscriptions". A bounded ring per subscription; subscriptions idle for an hour drop out.
 */
export interface DeliveryTimings {
  record(subscriptionId: number, recipientUrl: string, durationMs: number): void;
  slowest(limit: number): { subscriptionId: number; recipientUrl: string; p95Ms: number }[];
}

export function createDeliveryTimings(options: { samples?: number; windowMs?: number } = {}): DeliveryTimings {
  const samples = options.samples ?? 200;
  const windowMs = options.windowMs ?? 3_600_000;
  const bySubscription = new Map<number, { recipientUrl: string; durations: number[]; next: number; lastAt: number }>();
  return {
    record(subscriptionId, recipientUrl, durationMs) {
      let entry = bySubscription.get(subscriptionId);
      if (!entry) {
        entry = { recipientUrl, durations: [], next: 0, lastAt: 0 };
        bySubscription.set(subscriptionId, entry);
      }
      if (entry.durations.length < samples) entry.durations.push(durationMs);
      else entry.durations[entry.next] = durationMs;
      entry.next = (entry.next + 1) % samples;
      entry.recipientUrl = recipientUrl;
      entry.lastAt = Date.now();
    },
    slowest(limit) {
      const now = Date.now();
      const rows = [];
      for (const [subscriptionId, entry] of bySubscription) {
        if (now - entry.lastAt > windowMs) {
          bySubscription.delete(subscriptionId);
          continue;
        }
        const sorted = [...entry.durations].sort((a, b) => a - b);
        const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0;
        rows.push({ subscriptionId, recipientUrl: entry.recipientUrl, p95Ms: Math.round(p95) });
      }
      return rows.sort((a, b) => b.p95Ms - a.p95Ms).slice(0, limit);
    },
  };
}
