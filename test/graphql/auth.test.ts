import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, NO_ACL_TOKEN, makeDeps, openTestStore, startGraphqlServer, type GraphqlServer } from './harness.ts';
import { seed } from './seed.ts';

describe('GraphQL authentication', () => {
  let server: GraphqlServer;
  let closeStore: () => Promise<void>;

  beforeAll(async () => {
    const { store, close } = await openTestStore();
    closeStore = close;
    await seed(store);
    server = await startGraphqlServer(makeDeps(store).deps);
  });
  afterAll(async () => {
    await server.close();
    await closeStore();
  });

  it('refuses a query without a token with 401 UNAUTHENTICATED and no data', async () => {
    const reply = await server.query('{ subscriptions { total nodes { recipientUrl } } }', {}, null);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
    expect(reply.data).toBeUndefined();
    expect(reply.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(reply.errors?.[0]?.message).toContain('Authorization');
    expect(server.bodies.at(-1)).not.toContain('hooks.example.com');
  });

  it('refuses a wrong token with 401 and a token without the ACL with 403 FORBIDDEN', async () => {
    const wrong = await server.query('{ sinks { key } }', {}, 'not-a-token');
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const forbidden = await server.query('{ sinks { key } }', {}, NO_ACL_TOKEN);
    expect(forbidden.status).toBe(403);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(forbidden.errors?.[0]?.message).toContain('MageOS_AsyncEvents::manage');
  });

  it('refuses introspection and invalid documents without a token, so field names do not leak either', async () => {
    const introspection = await server.query('{ __schema { types { name } } }', {}, null);
    expect(introspection.status).toBe(401);
    const invalid = await server.query('{ subscriptionz { total } }', {}, null);
    expect(invalid.status).toBe(401);
    expect(JSON.stringify(invalid.errors)).not.toContain('Did you mean');
  });

  it('refuses the SSE request of a subscription without a token with a real 401', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { deliveryAttempts { uuid } }' }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('answers with the token, via GET too', async () => {
    const reply = await server.query('{ sinks { key } }');
    expect(reply.status).toBe(200);
    expect(reply.errors).toBeUndefined();
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ sinks { key usable } }')}`, {
      headers: { authorization: `Bearer ${API_TOKEN}`, accept: 'application/json' },
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { sinks: [{ key: 'http', usable: true }, { key: 'eventbridge', usable: false }] } });
  });

  it('serves GraphiQL to a browser without a token, with no data in the page', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('async-events GraphQL');
    expect(html).not.toContain('hooks.example.com');
    expect(html).not.toContain('sales.order.created');
  });

  it('refuses a mutation sent with GET, even authenticated', async () => {
    const response = await fetch(`${server.url}?query=${encodeURIComponent('mutation { replay(uuid: "x") { uuid } }')}`, {
      headers: { authorization: `Bearer ${API_TOKEN}`, accept: 'application/json' },
    });
    expect(response.status).toBe(405);
  });
});
