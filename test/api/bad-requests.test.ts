import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMessage, type MagentoErrorBody } from '../../src/api/api-error.ts';
import { newSubscription, SECRET_TOKEN, startHarness, type Harness } from './harness.ts';

/*
 * Every kind of bad request gets a 400 whose rendered message names what is wrong, and changes nothing.
 */

interface BadCase {
  readonly name: string;
  readonly method: string;
  readonly url: string | ((id: number) => string);
  readonly body?: unknown;
  readonly raw?: string;
  readonly headers?: Record<string, string>;
  /** Text the rendered message must contain (the field, or what is wrong). */
  readonly expected: string | RegExp;
  readonly status?: number;
}

const create = (overrides: Record<string, unknown>) => newSubscription(overrides);
const without = (key: string) => {
  const body = newSubscription();
  delete body.asyncEvent[key];
  return body;
};

const CASES: BadCase[] = [
  // Body shape
  { name: 'malformed JSON', method: 'POST', url: '/rest/V1/async_event', raw: '{"asyncEvent": {', headers: { 'content-type': 'application/json' }, expected: 'not valid JSON' },
  { name: 'trailing garbage after JSON', method: 'POST', url: '/rest/V1/async_event', raw: '{"asyncEvent": {}} x', headers: { 'content-type': 'application/json' }, expected: 'not valid JSON' },
  { name: 'wrong content type', method: 'POST', url: '/rest/V1/async_event', raw: JSON.stringify(newSubscription()), headers: { 'content-type': 'text/plain' }, expected: 'text/plain' },
  { name: 'form content type', method: 'POST', url: '/rest/V1/async_event', raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, expected: 'application/x-www-form-urlencoded' },
  { name: 'non-UTF-8 charset', method: 'POST', url: '/rest/V1/async_event', raw: JSON.stringify(newSubscription()), headers: { 'content-type': 'application/json; charset=latin1' }, expected: 'UTF-8 is the only supported charset' },
  { name: 'empty body', method: 'POST', url: '/rest/V1/async_event', raw: '', headers: { 'content-type': 'application/json' }, expected: 'Request body is expected' },
  { name: 'body is an array', method: 'POST', url: '/rest/V1/async_event', body: [1, 2], expected: 'request body' },
  { name: 'body is a string', method: 'POST', url: '/rest/V1/async_event', body: 'hello', expected: 'request body' },
  { name: 'asyncEvent missing', method: 'POST', url: '/rest/V1/async_event', body: { foo: 1 }, expected: '"asyncEvent"' },
  { name: 'asyncEvent is null', method: 'POST', url: '/rest/V1/async_event', body: { asyncEvent: null }, expected: '"asyncEvent"' },
  // Fields
  { name: 'event_name missing', method: 'POST', url: '/rest/V1/async_event', body: without('event_name'), expected: '"asyncEvent.event_name" is required' },
  { name: 'recipient_url missing', method: 'POST', url: '/rest/V1/async_event', body: without('recipient_url'), expected: '"asyncEvent.recipient_url" is required' },
  { name: 'verification_token missing', method: 'POST', url: '/rest/V1/async_event', body: without('verification_token'), expected: '"asyncEvent.verification_token" is required' },
  { name: 'metadata missing', method: 'POST', url: '/rest/V1/async_event', body: without('metadata'), expected: '"asyncEvent.metadata" is required' },
  { name: 'event_name wrong type', method: 'POST', url: '/rest/V1/async_event', body: create({ event_name: 42 }), expected: /"asyncEvent\.event_name".*expected string/ },
  { name: 'event_name empty', method: 'POST', url: '/rest/V1/async_event', body: create({ event_name: '  ' }), expected: /"asyncEvent\.event_name".*must not be empty/ },
  { name: 'unknown event', method: 'POST', url: '/rest/V1/async_event', body: create({ event_name: 'no.such.event' }), expected: /"asyncEvent\.event_name".*no async event "no\.such\.event".*known events: customer\.created/ },
  { name: 'event name with other case', method: 'POST', url: '/rest/V1/async_event', body: create({ event_name: 'Sales.Order.Created' }), expected: /"asyncEvent\.event_name".*"Sales\.Order\.Created"/ },
  { name: 'unknown sink', method: 'POST', url: '/rest/V1/async_event', body: create({ metadata: 'carrier-pigeon' }), expected: /"asyncEvent\.metadata".*unknown sink "carrier-pigeon".*http, eventbridge/ },
  { name: 'recipient not a URL for http', method: 'POST', url: '/rest/V1/async_event', body: create({ recipient_url: 'not a url' }), expected: /"asyncEvent\.recipient_url".*http:\/\/ or https:\/\// },
  { name: 'ftp recipient for http', method: 'POST', url: '/rest/V1/async_event', body: create({ recipient_url: 'ftp://files.example.com/x' }), expected: /"asyncEvent\.recipient_url"/ },
  { name: 'recipient with credentials', method: 'POST', url: '/rest/V1/async_event', body: create({ recipient_url: 'https://u:p@example.com/x' }), expected: /"asyncEvent\.recipient_url".*credentials/ },
  { name: 'recipient too long', method: 'POST', url: '/rest/V1/async_event', body: create({ recipient_url: `https://example.com/${'a'.repeat(1100)}` }), expected: /"asyncEvent\.recipient_url".*at most 1024/ },
  { name: 'eventbridge recipient empty', method: 'POST', url: '/rest/V1/async_event', body: create({ metadata: 'eventbridge', recipient_url: '' }), expected: /"asyncEvent\.recipient_url".*must not be empty/ },
  { name: 'token empty', method: 'POST', url: '/rest/V1/async_event', body: create({ verification_token: '' }), expected: /"asyncEvent\.verification_token".*must not be empty/ },
  { name: 'token too long', method: 'POST', url: '/rest/V1/async_event', body: create({ verification_token: 'x'.repeat(200) }), expected: /"asyncEvent\.verification_token".*at most 128/ },
  { name: 'token wrong type', method: 'POST', url: '/rest/V1/async_event', body: create({ verification_token: 12345 }), expected: /"asyncEvent\.verification_token"/ },
  { name: 'store_id negative', method: 'POST', url: '/rest/V1/async_event', body: create({ store_id: -1 }), expected: /"asyncEvent\.store_id".*between 0 and 65535/ },
  { name: 'store_id fractional', method: 'POST', url: '/rest/V1/async_event', body: create({ store_id: 1.5 }), expected: /"asyncEvent\.store_id".*whole number/ },
  { name: 'store_id too big', method: 'POST', url: '/rest/V1/async_event', body: create({ store_id: 70000 }), expected: /"asyncEvent\.store_id".*between 0 and 65535/ },
  { name: 'store_id not numeric', method: 'POST', url: '/rest/V1/async_event', body: create({ store_id: 'one' }), expected: /"asyncEvent\.store_id"/ },
  { name: 'status not boolean', method: 'POST', url: '/rest/V1/async_event', body: create({ status: 'maybe' }), expected: /"asyncEvent\.status".*true or false/ },
  { name: 'unknown field in asyncEvent', method: 'POST', url: '/rest/V1/async_event', body: create({ colour: 'blue' }), expected: '"asyncEvent.colour" is not a known field' },
  { name: 'subscription_id on create', method: 'POST', url: '/rest/V1/async_event', body: create({ subscription_id: 5 }), expected: '"asyncEvent.subscription_id" is not a known field' },
  { name: 'unknown top-level field', method: 'POST', url: '/rest/V1/async_event', body: { ...newSubscription(), extra: true }, expected: '"extra" is not a known field' },
  // Path and query
  { name: 'non-numeric id', method: 'GET', url: '/rest/V1/async_event/abc', expected: /"subscriptionId".*positive whole number/ },
  { name: 'zero id', method: 'GET', url: '/rest/V1/async_event/0', expected: /"subscriptionId"/ },
  { name: 'bad percent-encoding in id', method: 'GET', url: '/rest/V1/async_event/%E0%A4%A', expected: '"subscriptionId"' },
  { name: 'unknown query parameter on GET one', method: 'GET', url: (id) => `/rest/V1/async_event/${id}?verbose=1`, expected: '"verbose" is not a known field' },
  { name: 'filter on a secret column', method: 'GET', url: '/rest/V1/async_events?searchCriteria[filter_groups][0][filters][0][field]=verification_token&searchCriteria[filter_groups][0][filters][0][value]=x', expected: /searchCriteria\[filter_groups\]\[0\]\[filters\]\[0\]\[field\].*must be one of/ },
  { name: 'unknown condition type', method: 'GET', url: '/rest/V1/async_events?searchCriteria[filter_groups][0][filters][0][field]=status&searchCriteria[filter_groups][0][filters][0][value]=1&searchCriteria[filter_groups][0][filters][0][condition_type]=approx', expected: /\[condition_type\].*must be one of/ },
  { name: 'pageSize not a number', method: 'GET', url: '/rest/V1/async_events?searchCriteria[pageSize]=ten', expected: /searchCriteria\[pageSize\].*whole number/ },
  { name: 'bad sort direction', method: 'GET', url: '/rest/V1/async_events?searchCriteria[sort_orders][0][field]=status&searchCriteria[sort_orders][0][direction]=sideways', expected: /\[direction\].*ASC or DESC/ },
  { name: 'duplicate query key', method: 'GET', url: '/rest/V1/async_events?searchCriteria[pageSize]=1&searchCriteria[pageSize]=2', expected: 'given more than once' },
  // PUT
  { name: 'PUT changing event_name', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: { event_name: 'customer.created' } }, expected: /"asyncEvent\.event_name".*cannot change/ },
  { name: 'PUT with another subscription_id', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: { subscription_id: 999999, status: true } }, expected: /"asyncEvent\.subscription_id".*URL names subscription/ },
  { name: 'PUT with nothing to change', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: {} }, expected: /"asyncEvent".*nothing to change/ },
  { name: 'PUT to an unknown sink', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: { metadata: 'smoke-signal' } }, expected: /"asyncEvent\.metadata".*unknown sink/ },
  { name: 'PUT a non-URL with the http sink', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: { recipient_url: 'arn:aws:events:eu-west-1:1:event-bus/x' } }, expected: /"asyncEvent\.recipient_url"/ },
  { name: 'PUT read-only subscribed_at', method: 'PUT', url: (id) => `/rest/V1/async_event/${id}`, body: { asyncEvent: { subscribed_at: '2024-01-01 00:00:00' } }, expected: '"asyncEvent.subscribed_at" is not a known field' },
  // Our routes
  { name: 'trace with a non-UUID', method: 'GET', url: '/rest/V1/async_events/logs/not-a-uuid', expected: /"uuid".*must be a UUID/ },
  { name: 'log search with a syntax error', method: 'GET', url: '/rest/V1/async_events/logs?query=((', expected: /position 0/ },
  { name: 'log search pageSize too big', method: 'GET', url: '/rest/V1/async_events/logs?pageSize=5000', expected: /"pageSize".*at most 1000/ },
  { name: 'replay by empty query', method: 'POST', url: '/rest/V1/async_events/replay', body: { query: '   ' }, expected: /"query".*must not be empty/ },
  { name: 'replay by query, wrong type', method: 'POST', url: '/rest/V1/async_events/replay', body: { query: 5 }, expected: /"query".*expected string/ },
  { name: 'publish unknown event', method: 'POST', url: '/rest/V1/async_events/publish', body: { event_name: 'nope', arguments: {} }, expected: /"event_name".*no async event "nope"/ },
  { name: 'publish arguments not an object', method: 'POST', url: '/rest/V1/async_events/publish', body: { event_name: 'example.event', arguments: [1] }, expected: /"arguments".*JSON object/ },
  { name: 'publish with a store code and no store_id', method: 'POST', url: '/rest/store_2/V1/async_events/publish', body: { event_name: 'example.event', arguments: {} }, expected: /"store_id".*store code "store_2"/ },
  { name: 'parked limit zero', method: 'GET', url: '/rest/V1/async_events/parked?limit=0', expected: /"limit"/ },
  { name: 'redrive an empty id list', method: 'POST', url: '/rest/V1/async_events/parked/redrive', body: { ids: [] }, expected: /"ids".*send \{\} to redrive every parked message/ },
  { name: 'redrive a non-id', method: 'POST', url: '/rest/V1/async_events/parked/redrive', body: { ids: ['seven'] }, expected: /"ids\.0".*parked message id/ },
  { name: 'redrive with an unknown field', method: 'POST', url: '/rest/V1/async_events/parked/redrive', body: { all: true }, expected: /"all"/ },
  { name: 'csv search syntax error', method: 'GET', url: '/rest/V1/async_events/search.csv?query=%3A%3A', expected: /position 0/ },
];

describe('400 with a clear message for every kind of bad request', () => {
  let h: Harness;
  let id: number;
  beforeAll(async () => {
    h = await startHarness();
    const res = await h.request('POST', '/rest/V1/async_event', { body: newSubscription() });
    id = (res.json as { subscription_id: number }).subscription_id;
  });
  afterAll(async () => {
    await h.close();
  });

  it('has more than 30 cases', () => {
    expect(CASES.length).toBeGreaterThan(30);
  });

  it.each(CASES)('$name', async (c) => {
    const before = await h.store.subscriptions.list();
    const url = typeof c.url === 'function' ? c.url(id) : c.url;
    const res = await h.request(c.method, url, {
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.raw !== undefined ? { raw: c.raw } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    expect(res.status, res.text).toBe(c.status ?? 400);
    const body = res.json as MagentoErrorBody;
    expect(typeof body.message).toBe('string');
    const rendered = renderMessage(body.message, body.parameters);
    if (typeof c.expected === 'string') expect(rendered).toContain(c.expected);
    else expect(rendered).toMatch(c.expected);
    expect(res.text).not.toContain(SECRET_TOKEN);
    // An invalid request changes nothing.
    expect(await h.store.subscriptions.list()).toEqual(before);
  });

  it('lists every bad field in `errors` when there are several', async () => {
    const res = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { event_name: 1, recipient_url: 2 } } });
    expect(res.status).toBe(400);
    const body = res.json as MagentoErrorBody;
    const fields = (body.errors ?? []).map((e) => renderMessage(e.message, e.parameters));
    expect(fields.join('\n')).toMatch(/asyncEvent\.event_name[\s\S]*asyncEvent\.recipient_url[\s\S]*asyncEvent\.verification_token[\s\S]*asyncEvent\.metadata/);
  });

  it('413 with a clear message for a body over 1 MB, and the connection stays usable for the next request', async () => {
    const huge = JSON.stringify(newSubscription({ recipient_url: `https://example.com/${'x'.repeat(1_100_000)}` }));
    const res = await h.request('POST', '/rest/V1/async_event', { raw: huge, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(renderMessage((res.json as MagentoErrorBody).message, (res.json as MagentoErrorBody).parameters)).toBe('Request body is larger than 1048576 bytes.');
    expect((await h.request('GET', `/rest/V1/async_event/${id}`)).status).toBe(200);
  });
});
