/*
 * A HAND-WRITTEN fixture (not recorded from a running sidecar) in the shape agreed for
 * `GET /rest/V1/async_events/overview`, which no route serves yet:
 *   { perMinute: [{ minute, delivered, failed, retried }], queueDepth: { trigger, retry }, deadLettered,
 *     slowest: [{ subscriptionId, recipientUrl, p95Ms }], mostFailing: [{ subscriptionId, recipientUrl, failures }],
 *     services: [{ name, up, detail }] }
 * It lets the browser test check that the overview draws exactly what such an answer says.
 */

export interface OverviewMinute {
  readonly minute: string;
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
}

/** 60 minutes ending at `end`, with a quiet gap (no attempts) and one burst of failures. */
export function overviewFixture(end = new Date('2026-11-27T15:00:00Z')) {
  const perMinute: OverviewMinute[] = [];
  for (let i = 59; i >= 0; i -= 1) {
    const minute = new Date(end.getTime() - i * 60_000).toISOString().slice(0, 16).replace('T', ' ');
    const index = 59 - i;
    const quiet = index >= 20 && index < 24;
    const burst = index >= 40 && index < 45;
    perMinute.push({
      minute,
      delivered: quiet ? 0 : 20 + ((index * 7) % 13),
      failed: quiet ? 0 : burst ? 9 : index % 10 === 0 ? 1 : 0,
      retried: quiet ? 0 : burst ? 6 : index % 10 === 0 ? 1 : 0,
    });
  }
  return {
    perMinute,
    queueDepth: { trigger: 12, retry: 3 },
    deadLettered: 2,
    slowest: [
      { subscriptionId: 4, recipientUrl: 'https://erp.example.com/hooks/orders', p95Ms: 1840 },
      { subscriptionId: 1, recipientUrl: 'https://crm.example.com/magento', p95Ms: 420 },
    ],
    mostFailing: [{ subscriptionId: 4, recipientUrl: 'https://erp.example.com/hooks/orders', failures: 51 }],
    services: [
      { name: 'database', up: true, detail: 'MySQL/MariaDB reachable' },
      { name: 'queue', up: false, detail: 'RabbitMQ refused the connection (ECONNREFUSED 127.0.0.1:5672)' },
      { name: 'search', up: true, detail: 'built-in (SQL over the log)' },
    ],
  };
}
