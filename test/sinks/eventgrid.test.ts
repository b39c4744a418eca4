import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createTokenSource } from '../../src/sinks/azure-token.ts';
import { createEventGridSink, type EventGridSinkOptions } from '../../src/sinks/eventgrid.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { freePort } from '../support/services.ts';
import { type AzureStandIn, startAzureStandIn } from './azure-standin.ts';
import { fakeAdminConfig } from './aws-test-config.ts';

const PRINCIPAL = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: 'b0b5a8e0-3c1e-4f4e-9d5e-0a1b2c3d4e5f', clientSecret: 'azure~Secret.Value_0123456789' };
const encryptor = createEncryptor(['0123456789abcdef0123456789abcdef']);
const payload: EventPayload = { uuid: '3c2b1a09-8f7e-4d6c-b5a4-9e8d7c6b5a41', eventName: 'sales.order.created', storeId: 2, data: '{"entity_id":7,"name":"\\u00fcml"}' };

function configured(overrides: Record<string, string> = {}) {
  return fakeAdminConfig({
    'async_events_azure/service_principal/tenant_id': PRINCIPAL.tenantId,
    'async_events_azure/service_principal/client_id': PRINCIPAL.clientId,
    'async_events_azure/service_principal/client_secret': encryptor.encrypt(PRINCIPAL.clientSecret),
    ...overrides,
  }, encryptor);
}

describe('eventgrid sink against local token and Event Grid endpoints', () => {
  let standIn: AzureStandIn;
  let topic = '';
  const sinks: ReturnType<typeof createEventGridSink>[] = [];
  const sink = (admin = configured(), extra: Partial<EventGridSinkOptions> = {}) => {
    const created = createEventGridSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, allowedTargets: ['127.0.0.1/32'], env: { AZURE_AUTHORITY_HOST: standIn.url }, ...extra });
    sinks.push(created);
    return created;
  };
  const attempt = (recipientUrl = topic): DeliveryAttemptRequest => {
    const subscription: Subscription = { id: 5, eventName: payload.eventName, recipientUrl, verificationToken: 'unused', active: true, subscribedAt: null, modified: null, metadata: 'eventgrid', storeId: 0 };
    return { subscription, payload, format: 'cloudevents', deathCount: 0 };
  };

  beforeAll(async () => {
    standIn = await startAzureStandIn(PRINCIPAL);
    topic = `${standIn.url}/api/events`;
  });
  afterAll(async () => standIn.close());
  beforeEach(() => standIn.reset());
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  it('gets a client-credentials token once, then POSTs the CloudEvent with it, api-version and the CloudEvents media type', async () => {
    const admin = configured();
    const eventgrid = sink(admin);
    expect(await eventgrid.unusableReason()).toBeUndefined();
    const outcomes = await Promise.all([eventgrid.deliver(attempt()), eventgrid.deliver(attempt())]);
    outcomes.push(await eventgrid.deliver(attempt()));
    expect(outcomes.map((o) => o.success)).toEqual([true, true, true]);

    expect(standIn.tokenRequests).toEqual([
      {
        tenant: PRINCIPAL.tenantId,
        contentType: 'application/x-www-form-urlencoded',
        form: { grant_type: 'client_credentials', client_id: PRINCIPAL.clientId, client_secret: PRINCIPAL.clientSecret, scope: 'https://eventgrid.azure.net/.default' },
      },
    ]);
    expect(admin.decrypted).toContain(admin.store.get('async_events_azure/service_principal/client_secret'));
    expect(standIn.events).toHaveLength(3);
    for (const request of standIn.events) {
      expect(request.url.pathname).toBe('/api/events');
      expect([...request.url.searchParams]).toEqual([['api-version', '2018-01-01']]);
      expect(request.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(request.headers.authorization).toBe('Bearer token-1');
      expect(request.body).toBe(cloudEventBody(payload));
    }
  });

  it('renews the token shortly before it expires', async () => {
    let clock = 1_000_000;
    const tokens = createTokenSource({ authorityHost: () => standIn.url, now: () => clock });
    const eventgrid = sink(configured(), { tokens });
    await eventgrid.deliver(attempt());
    clock += (3599 - 301) * 1000;
    await eventgrid.deliver(attempt());
    expect(standIn.tokenRequests).toHaveLength(1);
    clock += 2000;
    await eventgrid.deliver(attempt());
    expect(standIn.tokenRequests).toHaveLength(2);
    expect(standIn.events.map((e) => e.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
  });

  it('retries 5xx, 429 (honouring a numeric Retry-After) and network errors; other 4xx are final', async () => {
    const eventgrid = sink();
    standIn.replyEvents(
      { status: 500, body: '{"error":{"code":"InternalServerError"}}' },
      { status: 429, headers: { 'retry-after': '7' }, body: '{"error":{"code":"Throttled"}}' },
      { status: 503 },
      { status: 400, body: '{"error":{"code":"BadRequest","message":"Invalid CloudEvent"}}' },
      { status: 403 },
      { status: 413 },
    );
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await eventgrid.deliver(attempt()));
    expect(outcomes[0]).toMatchObject({ success: false, retryable: true, statusCode: 500 });
    expect(outcomes[1]).toMatchObject({ success: false, retryable: true, statusCode: 429, retryAfterSeconds: 7 });
    expect(outcomes[2]).toMatchObject({ success: false, retryable: true, statusCode: 503 });
    expect(outcomes[3]).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(outcomes[3]?.responseData).toContain('Invalid CloudEvent');
    expect(outcomes[4]).toMatchObject({ success: false, retryable: false, statusCode: 403 });
    expect(outcomes[4]?.responseData).toContain('EventGrid Data Sender');
    expect(outcomes[5]).toMatchObject({ success: false, retryable: false, statusCode: 413 });
    expect(standIn.events).toHaveLength(6);

    const port = await freePort();
    const down = await eventgrid.deliver(attempt(`http://127.0.0.1:${port}/api/events`));
    expect(down).toMatchObject({ success: false, retryable: true });
    expect(down.responseData).toMatch(/ECONNREFUSED/);
  });

  it('asks for a new token after Event Grid refuses the cached one', async () => {
    const eventgrid = sink();
    expect(await eventgrid.deliver(attempt())).toMatchObject({ success: true });
    standIn.revokeTokens();
    expect(await eventgrid.deliver(attempt())).toMatchObject({ success: false, retryable: true, statusCode: 401 });
    expect(await eventgrid.deliver(attempt())).toMatchObject({ success: true });
    expect(standIn.events.map((e) => e.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
  });

  it('names token endpoint failures as such: a refused secret is final, an unavailable endpoint is retried; no event is sent', async () => {
    const wrongSecret = await sink(configured({ 'async_events_azure/service_principal/client_secret': encryptor.encrypt('wrong-secret') })).deliver(attempt());
    expect(wrongSecret).toMatchObject({ success: false, retryable: false });
    expect(wrongSecret.responseData).toMatch(/^Azure token endpoint http:\/\/127\.0\.0\.1:\d+\/72f988bf-86f1-41af-91ab-2d7cd011db47\/oauth2\/v2\.0\/token answered HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided\.;/);
    expect(wrongSecret.responseData).toContain('async_events_azure/service_principal/client_secret');
    expect(wrongSecret.responseData).not.toContain('wrong-secret');

    standIn.replyToken({ status: 503, body: '{"error":"temporarily_unavailable"}' });
    const unavailable = await sink().deliver(attempt());
    expect(unavailable).toMatchObject({ success: false, retryable: true });
    expect(unavailable.responseData).toContain('Azure token endpoint');
    expect(unavailable.responseData).toContain('HTTP 503: temporarily_unavailable');

    const port = await freePort();
    const unreachable = await sink(configured(), { env: { AZURE_AUTHORITY_HOST: `http://127.0.0.1:${port}` } }).deliver(attempt());
    expect(unreachable).toMatchObject({ success: false, retryable: true });
    expect(unreachable.responseData).toMatch(/Azure token endpoint .* could not be reached/);
    expect(standIn.events).toEqual([]);
  });

  it('is unusable without a complete service principal, naming the paths, and sends nothing then', async () => {
    const missing = sink(fakeAdminConfig({ 'async_events_azure/service_principal/tenant_id': PRINCIPAL.tenantId }, encryptor));
    const reason = await missing.unusableReason();
    expect(reason).toContain('async_events_azure/service_principal/client_id');
    expect(reason).toContain('async_events_azure/service_principal/client_secret');
    expect(await missing.deliver(attempt())).toMatchObject({ success: false, retryable: false, responseData: reason });
    expect(standIn.tokenRequests).toEqual([]);
    expect(standIn.events).toEqual([]);
  });

  it('refuses a topic endpoint on a private address that is not allow-listed', async () => {
    const outcome = await sink(configured(), { allowedTargets: [] }).deliver(attempt());
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('ASYNC_EVENTS_ALLOWED_TARGETS');
    expect(standIn.events).toEqual([]);
  });
});
