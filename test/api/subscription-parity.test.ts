import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiTokenAuth, createCompositeAuth } from '../../src/api/auth.ts';
import type { Authenticator } from '../../src/api/dependencies.ts';
import { AsyncEventsError } from '../../src/errors.ts';
import { createAddressGuard } from '../../src/sinks/address-guard.ts';
import { startGraphqlServer, type GraphqlServer } from '../graphql/harness.ts';
import { API_TOKEN, startHarness, type Harness } from './harness.ts';
import { GRAPHQL_FIELD, graphqlInput, REST_FIELD, REST_STATUS, restBody, SUBSCRIPTION_REQUESTS, type SubscriptionRequest } from './subscription-requests.ts';

/*
 * The shared table of subscription requests through real REST and real GraphQL over one SQLite store and one set
 * of dependencies: both must reach the same verdict (code, field) and a refused request must write nothing.
 * The "limited" caller stands for an integration holding MageOS_AsyncEvents::manage only; the real Magento
 * integration tokens are exercised the same way in integration-auth.test.ts (MariaDB).
 */

const LIMITED_TOKEN = 'limited-integration-token';

/** An integration principal whose role allows only MageOS_AsyncEvents::manage. */
const limitedIntegration: Authenticator = {
  async authenticate(header) {
    if (header === `Bearer ${LIMITED_TOKEN}`) return { kind: 'integration', integrationId: 7, name: 'limited' };
    throw new AsyncEventsError('UNAUTHORIZED', 'not the limited token');
  },
  async isAllowed(principal, resources) {
    if (principal.kind !== 'integration') return undefined;
    return resources.every((resource) => resource === 'MageOS_AsyncEvents::manage');
  },
};

const SUBSCRIBE = 'mutation ($input: SubscribeInput!) { subscribe(input: $input) { id eventName } }';
const UPDATE = 'mutation ($id: ID!, $input: UpdateSubscriptionInput!) { updateSubscription(id: $id, input: $input) { id } }';

type Verdict = { code: string; field?: string | undefined };

describe('one subscription service behind REST and GraphQL: the shared request table', () => {
  let h: Harness;
  let graphql: GraphqlServer;

  beforeAll(async () => {
    h = await startHarness({
      auth: createCompositeAuth([createApiTokenAuth(API_TOKEN), limitedIntegration]),
      eventResources: { 'sales.order.created': ['Magento_Sales::sales'] },
      recipientRefusal: createAddressGuard({ allowedTargets: [] }).recipientRefusal,
    });
    graphql = await startGraphqlServer(h.deps);
  });
  afterAll(async () => {
    await graphql?.close();
    await h?.close();
  });

  const target = () =>
    h.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: 'https://hooks.example.com/orders', verificationToken: 'tok-target', metadata: 'http' });
  const tokenOf = (request: SubscriptionRequest) => (request.as === 'limited' ? LIMITED_TOKEN : API_TOKEN);
  /** The verdict as an interface states it: GraphQL by `extensions.code`, REST by its status; fields in its own names. */
  const expected = (request: SubscriptionRequest, names: Readonly<Record<string, string>>, rest: boolean): Verdict => {
    const code = rest ? `HTTP ${REST_STATUS[request.verdict.code] ?? '?'}` : request.verdict.code;
    const field = 'field' in request.verdict ? request.verdict.field : undefined;
    // REST's 404 names the id of the URL in Magento's own message, not as a field.
    if (field === undefined || (rest && field === 'subscriptionId')) return { code };
    return { code, field: names[field] };
  };

  async function viaRest(request: SubscriptionRequest, id: number): Promise<{ status: number; verdict: Verdict }> {
    const token = tokenOf(request);
    const res =
      request.op === 'create'
        ? await h.request('POST', '/rest/V1/async_event', { body: restBody(request.input), token })
        : await h.request('PUT', `/rest/V1/async_event/${request.op === 'update' ? id : 999999}`, { body: restBody(request.input), token });
    // REST answers with Magento's body, which has no code: the status stands for it.
    const fieldName = (res.json as { parameters?: { fieldName?: string } } | undefined)?.parameters?.fieldName;
    const code = `HTTP ${res.status}`;
    return { status: res.status, verdict: fieldName === undefined ? { code } : { code, field: fieldName } };
  }

  async function viaGraphql(request: SubscriptionRequest, id: number): Promise<{ status: number; verdict: Verdict }> {
    const token = tokenOf(request);
    const reply =
      request.op === 'create'
        ? await graphql.query(SUBSCRIBE, { input: graphqlInput(request.input) }, token)
        : await graphql.query(UPDATE, { id: String(request.op === 'update' ? id : 999999), input: graphqlInput(request.input) }, token);
    const error = reply.errors?.[0];
    if (!error) return { status: reply.status, verdict: { code: 'OK' } };
    const field = error.extensions?.field;
    const code = String(error.extensions?.code);
    return { status: reply.status, verdict: typeof field === 'string' ? { code, field } : { code } };
  }

  it('has good and bad requests of every kind', () => {
    expect(SUBSCRIPTION_REQUESTS.length).toBeGreaterThan(25);
    expect(new Set(SUBSCRIPTION_REQUESTS.map((r) => r.verdict.code))).toEqual(
      new Set(['OK', 'EVENT_UNKNOWN', 'VALIDATION_FAILED', 'SINK_UNKNOWN', 'SINK_NOT_CONFIGURED', 'TARGET_FORBIDDEN', 'FORBIDDEN', 'SUBSCRIPTION_NOT_FOUND']),
    );
  });

  it.each(SUBSCRIPTION_REQUESTS)('$name: the same verdict on REST and GraphQL', async (request) => {
    for (const [interfaceName, send, names] of [
      ['REST', viaRest, REST_FIELD],
      ['GraphQL', viaGraphql, GRAPHQL_FIELD],
    ] as const) {
      const { id } = await target();
      const before = await h.store.subscriptions.list();
      const { status, verdict } = await send(request, id);
      expect(verdict, `${interfaceName} (HTTP ${status})`).toEqual(expected(request, names, interfaceName === 'REST'));
      if (request.verdict.code === 'FORBIDDEN') expect(status, interfaceName).toBe(403);
      if (request.verdict.code !== 'OK') expect(await h.store.subscriptions.list(), `${interfaceName} wrote nothing`).toEqual(before);
      else expect(await h.store.subscriptions.list(), `${interfaceName} wrote`).not.toEqual(before);
    }
  });

  it('a caller refused with 403 on REST is refused on GraphQL too, and nothing is written by either', async () => {
    const before = await h.store.subscriptions.list();
    const input = { eventName: 'sales.order.created', recipientUrl: 'https://attacker.example.com/orders', verificationToken: 'tok', sink: 'http' };
    const rest = await h.request('POST', '/rest/V1/async_event', { body: restBody(input), token: LIMITED_TOKEN });
    expect(rest.status).toBe(403);
    expect(rest.json).toEqual({ message: "The consumer isn't authorized to access %resources.", parameters: { resources: ['Magento_Sales::sales'] } });
    const reply = await graphql.query(SUBSCRIBE, { input }, LIMITED_TOKEN);
    expect(reply.status).toBe(403);
    expect(reply.data).toBeNull();
    expect(reply.errors?.[0]).toMatchObject({ message: "The consumer isn't authorized to access Magento_Sales::sales.", extensions: { code: 'FORBIDDEN' } });
    expect(await h.store.subscriptions.list()).toEqual(before);
  });

  it('deleting needs the event\'s resources as well, on REST and GraphQL', async () => {
    const { id } = await target();
    expect((await h.request('DELETE', `/rest/V1/async_event/${id}`, { token: LIMITED_TOKEN })).status).toBe(403);
    const refused = await graphql.query(`mutation { unsubscribe(id: "${id}") }`, {}, LIMITED_TOKEN);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(await h.store.subscriptions.get(id)).toBeDefined();
    expect((await h.request('DELETE', `/rest/V1/async_event/${id}`)).status).toBe(200);
    expect(await h.store.subscriptions.get(id)).toBeUndefined();
    expect((await h.request('DELETE', `/rest/V1/async_event/${id}`)).status).toBe(404);
    const other = await target();
    expect((await graphql.query(`mutation { unsubscribe(id: "${other.id}") }`, {}, API_TOKEN)).data).toEqual({ unsubscribe: true });
    expect((await graphql.query(`mutation { unsubscribe(id: "${other.id}") }`, {}, API_TOKEN)).errors?.[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', field: 'id' });
  });
});
