import type { Kysely } from 'kysely';
import type { Database } from '../../../src/store/schema.ts';

/*
 * A deterministic delivery log for the search suites: subscriptions of a few events and `count` log rows whose
 * serialized_data is a CloudEvent (most), upstream 3.x's `{"data":…}`, NULL or not JSON at all, written the way
 * PHP's json_encode writes (`\/`, `\u00eb`). Row i has log_id i + 1 and is created at BASE + i × 90 minutes, so
 * row 3899 (log_id 3900) is `2024-05-01 10:00:00`.
 */

export interface SeedSubscription {
  readonly id: number;
  readonly eventName: string;
}

export interface SeedRow {
  readonly logId: number;
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly eventName: string;
  readonly success: boolean;
  /** `yyyy-MM-dd HH:mm:ss` UTC. */
  readonly created: string;
  readonly serializedData: string | null;
  /** The event payload (`data` of the CloudEvent or of the legacy body), when the row has one. */
  readonly payload: Record<string, unknown> | undefined;
  readonly format: 'cloudevents' | 'legacy' | 'null' | 'invalid';
}

export const SUBSCRIPTIONS: readonly SeedSubscription[] = [
  { id: 1, eventName: 'customer.created' },
  { id: 2, eventName: 'customer.created' },
  { id: 3, eventName: 'customer.updated' },
  { id: 4, eventName: 'sales.order.created' },
  { id: 5, eventName: 'sales.order.shipped' },
  { id: 6, eventName: 'catalog.product.updated' },
  { id: 7, eventName: 'Sales.Order.Created' },
];

const BASE_MS = Date.UTC(2023, 7, 31, 17, 30, 0);
const STEP_MS = 90 * 60_000;
const EMAILS = ['roni_cost@example.com', 'Roni_Cost@Example.com', 'veronica.costello@example.com', 'john.doe@example.org', 'jane@example.net'];
const STATUSES = ['pending', 'processing', 'complete', 'canceled'];
const NOTES = ['please deliver to the back door', 'gift wrap, no invoice', "'; DROP TABLE async_event_subscriber_log; --", 'call before delivery'];
const PRODUCTS = [
  { sku: '24-MB01', name: 'Joust Duffle Bag', url: 'https://shop.example.com/joust-duffle-bag.html' },
  { sku: 'WS12-XS-Orange', name: 'Zoë Top', url: 'https://shop.example.com/zoe-top.html' },
  { sku: 'MH01', name: 'Chaz Kangeroo Hoodie', url: 'https://shop.example.com/chaz.html' },
];

/** Small seeded generator (mulberry32): the same seed gives the same data on every run. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PHP json_encode with default flags: slashes and non-ASCII escaped. */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function chainUuid(chain: number): string {
  return `00000000-0000-4000-8000-${chain.toString(16).padStart(12, '0')}`;
}

export function makeSeed(count: number): SeedRow[] {
  const random = prng(20240501);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const rows: SeedRow[] = [];
  let chain = 0;
  let attemptsLeft = 0;
  let subscription = SUBSCRIPTIONS[0] as SeedSubscription;
  let payload: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    if (attemptsLeft === 0) {
      chain++;
      attemptsLeft = 1 + Math.floor(random() * 3);
      subscription = pick(SUBSCRIPTIONS);
      payload = makePayload(subscription.eventName, chain, random, pick);
    }
    attemptsLeft--;
    const uuid = chainUuid(chain);
    const success = attemptsLeft === 0 ? random() < 0.7 : false;
    const roll = random();
    const format = roll < 0.8 ? 'cloudevents' : roll < 0.95 ? 'legacy' : roll < 0.98 ? 'null' : 'invalid';
    const serializedData =
      format === 'cloudevents'
        ? phpJson({ specversion: '1.0', id: uuid, source: '1', type: subscription.eventName, datacontenttype: 'application/json', data: payload })
        : format === 'legacy'
          ? phpJson({ data: payload })
          : format === 'null'
            ? null
            : '{"data": not json';
    rows.push({
      logId: i + 1,
      uuid,
      subscriptionId: subscription.id,
      eventName: subscription.eventName,
      success,
      created: new Date(BASE_MS + i * STEP_MS).toISOString().slice(0, 19).replace('T', ' '),
      serializedData,
      payload: format === 'cloudevents' || format === 'legacy' ? payload : undefined,
      format,
    });
  }
  return rows;
}

function makePayload(eventName: string, chain: number, random: () => number, pick: <T>(list: readonly T[]) => T): Record<string, unknown> {
  if (eventName.startsWith('customer.')) {
    return { customer_id: 1000 + chain, customer_email: pick(EMAILS), firstname: 'Veronica', is_guest: random() < 0.3 };
  }
  if (eventName.toLowerCase().startsWith('sales.')) {
    const order: Record<string, unknown> = {
      increment_id: random() < 0.5 ? `CK${String(chain % 1000).padStart(6, '0')}` : String(chain).padStart(9, '0'),
      grand_total: Math.round(random() * 100_000) / 100,
      status: pick(STATUSES),
      customer_email: pick(EMAILS),
      items: [{ sku: pick(PRODUCTS).sku, qty: 1 + Math.floor(random() * 3) }],
    };
    if (random() < 0.3) order.note = pick(NOTES);
    return order;
  }
  const product = pick(PRODUCTS);
  return { sku: product.sku, name: product.name, url: product.url, price: Math.round(random() * 20_000) / 100 };
}

/** Inserts subscriptions and rows in one transaction, in multi-row batches. */
export async function insertSeed(db: Kysely<Database>, rows: readonly SeedRow[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('async_event_subscriber')
      .values(
        SUBSCRIPTIONS.map((s) => ({
          subscription_id: s.id,
          event_name: s.eventName,
          recipient_url: `https://hooks.example.com/${s.id}`,
          verification_token: 'not-a-real-token',
          status: 1,
          metadata: 'http',
          store_id: 0,
        })),
      )
      .execute();
    for (let start = 0; start < rows.length; start += 500) {
      await trx
        .insertInto('async_event_subscriber_log')
        .values(
          rows.slice(start, start + 500).map((row) => ({
            log_id: row.logId,
            uuid: row.uuid,
            subscription_id: row.subscriptionId,
            success: row.success ? 1 : 0,
            response_data: row.success ? '{"ok":true}' : 'HTTP 503 Service Unavailable',
            created: row.created,
            serialized_data: row.serializedData,
          })),
        )
        .execute();
    }
  });
}
