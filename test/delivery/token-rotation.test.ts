import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { silentLogger } from '../../src/logger.ts';
import { cleanPreviousTokens } from '../../src/store/token-cleanup.ts';
import { API_TOKEN, startReceiver, startSidecar, waitFor, type ReceivedRequest, type TestSidecar } from '../support/sidecar.ts';

/*
 * Token rotation end to end: a whole sidecar (SQLite, database queue) whose rotation clock the test moves, two
 * real receivers that verify deliveries the way receivers do (the `standardwebhooks` library, and
 * x-magento-signature / x-magento-signature-previous with node:crypto) and answer 401 when nothing verifies.
 * One subscription's token is changed through REST, the other's through GraphQL. One receiver knows only the old
 * token, the other only the new: during the grace period both accept; after it only the new one does.
 */

const HOUR = 3_600_000;
const OLD_TOKEN = 'rotation-old-token-93f1c0';
const NEW_TOKEN_REST = 'rotation-new-token-rest-4ab27e';
const NEW_TOKEN_GRAPHQL = 'rotation-new-token-graphql-d815c3';

function hmacHex(body: string, token: string): string {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(body).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

interface Verdict {
  readonly standardWebhooks: boolean;
  /** Which Magento-style header matched the receiver's token, if any. */
  readonly magento: 'current' | 'previous' | undefined;
}

/** What a receiver that knows `token` concludes about a delivery. */
function verify(request: ReceivedRequest, token: string): Verdict {
  let standardWebhooks = true;
  try {
    new Webhook('whsec_' + Buffer.from(token, 'utf8').toString('base64')).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    });
  } catch {
    standardWebhooks = false;
  }
  const mine = hmacHex(request.body, token);
  const current = String(request.headers['x-magento-signature'] ?? '');
  const previous = String(request.headers['x-magento-signature-previous'] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
  const magento = sameHex(current, mine) ? 'current' : previous.some((p) => sameHex(p, mine)) ? 'previous' : undefined;
  return { standardWebhooks, magento };
}

/** A receiver that knows one token and accepts only what both schemes verify with it. */
async function verifyingReceiver(token: string) {
  const verdicts: Verdict[] = [];
  const receiver = await startReceiver((request) => {
    const verdict = verify(request, token);
    verdicts.push(verdict);
    return verdict.standardWebhooks && verdict.magento !== undefined ? { status: 200, body: '{"ok":true}' } : { status: 401, body: '{"error":"bad signature"}' };
  });
  return { ...receiver, verdicts };
}

describe('token rotation with a grace period', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let nowMs = Date.now();
  let knowsOld: Awaited<ReturnType<typeof verifyingReceiver>>;
  let knowsNewRest: Awaited<ReturnType<typeof verifyingReceiver>>;
  let knowsOldGraphql: Awaited<ReturnType<typeof verifyingReceiver>>;
  let knowsNewGraphql: Awaited<ReturnType<typeof verifyingReceiver>>;
  const responses: string[] = [];

  const rest = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${http.url}/rest${url}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    responses.push(text);
    return { status: response.status, json: JSON.parse(text) as Record<string, unknown>, text };
  };
  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(`${http.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    responses.push(text);
    return { status: response.status, json: JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown[] }, text };
  };

  beforeAll(async () => {
    knowsOld = await verifyingReceiver(OLD_TOKEN);
    knowsNewRest = await verifyingReceiver(NEW_TOKEN_REST);
    knowsOldGraphql = await verifyingReceiver(OLD_TOKEN);
    knowsNewGraphql = await verifyingReceiver(NEW_TOKEN_GRAPHQL);
    sidecar = await startSidecar({ mode: 'sqlite', maxDeaths: 0, app: { clock: () => new Date(nowMs) } });
    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
  });
  afterAll(async () => {
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    for (const receiver of [knowsOld, knowsNewRest, knowsOldGraphql, knowsNewGraphql]) await receiver?.close();
  });

  const receivers = () => [knowsOld, knowsNewRest, knowsOldGraphql, knowsNewGraphql];
  /** Publishes one event and waits until every receiver got it. */
  async function deliverOne(orderId: number): Promise<void> {
    const before = receivers().map((r) => r.requests.length);
    await sidecar.app.publish('sales.order.created', { id: orderId });
    await waitFor(`order ${orderId} at every receiver`, () => receivers().every((r, i) => r.requests.length > (before[i] ?? 0)), 20_000);
  }

  it('signs with the old and the new token during the grace period, then with the new one only', async () => {
    // Two subscriptions per interface: the one rotated through REST and the one rotated through GraphQL each
    // deliver to a receiver that still knows the old token, or already has the new one.
    const ids: Record<string, number> = {};
    for (const [name, receiver] of [['old', knowsOld], ['newRest', knowsNewRest], ['oldGraphql', knowsOldGraphql], ['newGraphql', knowsNewGraphql]] as const) {
      const created = await rest('POST', '/V1/async_event', { asyncEvent: { event_name: 'sales.order.created', recipient_url: receiver.url, verification_token: OLD_TOKEN, metadata: 'http' } });
      expect(created.status).toBe(200);
      ids[name] = Number(created.json.subscription_id);
    }
    await deliverOne(1);
    // Before any rotation: one signature, no previous header; the receivers that have the new token refuse.
    expect(knowsOld.requests[0]?.headers['x-magento-signature-previous']).toBeUndefined();
    expect(String(knowsOld.requests[0]?.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(knowsOld.verdicts[0]).toEqual({ standardWebhooks: true, magento: 'current' });
    expect(knowsNewRest.verdicts[0]).toEqual({ standardWebhooks: false, magento: undefined });

    // Rotate at T: REST for two subscriptions, GraphQL for the other two.
    for (const id of [ids.old, ids.newRest]) {
      const put = await rest('PUT', `/V1/async_event/${id}`, { asyncEvent: { verification_token: NEW_TOKEN_REST } });
      expect(put.status).toBe(200);
    }
    const mutation = 'mutation ($id: ID!, $token: String!) { updateSubscription(id: $id, input: { verificationToken: $token }) { id } }';
    for (const id of [ids.oldGraphql, ids.newGraphql]) {
      const changed = await graphql(mutation, { id: String(id), token: NEW_TOKEN_GRAPHQL });
      expect(changed.json.errors, changed.text).toBeUndefined();
    }

    // T + 23 h: every receiver accepts, whichever token it has.
    nowMs += 23 * HOUR;
    await deliverOne(2);
    for (const receiver of receivers()) {
      const request = receiver.requests.at(-1) as ReceivedRequest;
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(receiver.verdicts.at(-1)?.standardWebhooks).toBe(true);
    }
    expect(knowsOld.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'previous' });
    expect(knowsOldGraphql.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'previous' });
    expect(knowsNewRest.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'current' });
    expect(knowsNewGraphql.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'current' });
    const during = knowsOld.requests.at(-1) as ReceivedRequest;
    expect(during.headers['x-magento-signature']).toBe(hmacHex(during.body, NEW_TOKEN_REST));
    expect(during.headers['x-magento-signature-previous']).toBe(hmacHex(during.body, OLD_TOKEN));
    // The sidecar logged them as delivered: order 1 went to the two receivers with the old token, order 2 to all four.
    await waitFor('order 2 logged', async () => (await sidecar.app.store.log.count({ success: true })) === 6);
    expect(await sidecar.app.store.log.count({ success: false })).toBe(2);

    // T + 24 h 1 min: the grace period is over; only receivers with the new token accept.
    nowMs += HOUR + 60_000;
    await deliverOne(3);
    for (const receiver of [knowsOld, knowsOldGraphql]) {
      const request = receiver.requests.at(-1) as ReceivedRequest;
      expect(request.headers['x-magento-signature-previous']).toBeUndefined();
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(receiver.verdicts.at(-1)).toEqual({ standardWebhooks: false, magento: undefined });
    }
    expect(knowsNewRest.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'current' });
    expect(knowsNewGraphql.verdicts.at(-1)).toEqual({ standardWebhooks: true, magento: 'current' });
    await waitFor('order 3 logged', async () => (await sidecar.app.store.log.count({ success: false })) === 4);
    expect(await sidecar.app.store.log.count({ success: true })).toBe(8);
    // Dropped on read: the rows of the expired tokens are gone.
    expect(await sidecar.app.store.db.selectFrom('async_event_previous_token').selectAll().execute()).toEqual([]);

    // No answer of REST or GraphQL carried a token.
    for (const text of responses) {
      for (const token of [OLD_TOKEN, NEW_TOKEN_REST, NEW_TOKEN_GRAPHQL]) expect(text.includes(token), text).toBe(false);
    }
  });

  it('the cleanup job drops an expired token nobody delivers to, and setting the same token keeps nothing', async () => {
    const created = await rest('POST', '/V1/async_event', { asyncEvent: { event_name: 'customer.created', recipient_url: knowsOld.url, verification_token: OLD_TOKEN, metadata: 'http' } });
    const id = Number(created.json.subscription_id);
    expect((await rest('PUT', `/V1/async_event/${id}`, { asyncEvent: { verification_token: OLD_TOKEN } })).status).toBe(200);
    const rows = () => sidecar.app.store.db.selectFrom('async_event_previous_token').selectAll().where('subscription_id', '=', id).execute();
    expect(await rows()).toEqual([]);
    expect((await rest('PUT', `/V1/async_event/${id}`, { asyncEvent: { verification_token: NEW_TOKEN_REST } })).status).toBe(200);
    expect(await rows()).toHaveLength(1);
    expect(await cleanPreviousTokens(sidecar.app.adminConfig, sidecar.app.store, silentLogger(), new Date(nowMs + 23 * HOUR))).toBe(0);
    expect(await cleanPreviousTokens(sidecar.app.adminConfig, sidecar.app.store, silentLogger(), new Date(nowMs + 24 * HOUR + 1000))).toBe(1);
    expect(await rows()).toEqual([]);
  });
});
