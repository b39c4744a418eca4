import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEvent, HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createHttpSink, parseRetryAfter, truncateUtf8 } from '../../src/sinks/http.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import type { EventPayload, PayloadFormat, Subscription } from '../../src/types.ts';
import { freePort } from '../support/services.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const data = '{"entity_id":7,"link":"https:\\/\\/x.example\\/p","name":"\\u00fcml\\u00e4ut \\ud83d\\ude00","items":[]}';
const payload: EventPayload = { uuid: '5a4cf1b0-5c0e-4ad5-8e4e-6c1f2f3b9d70', eventName: 'sales.order.created', storeId: 1, data };
const token = 'secret-token-ä';

describe('http sink against local receivers', () => {
  let server: http.Server;
  let base = '';
  const received: Received[] = [];
  const big = 'é'.repeat(40_000) + 'x'; // 80 001 bytes

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const [, route, arg] = (req.url ?? '').split('/');
        switch (route) {
          case 'ok': res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}'); break;
          case 'status': res.writeHead(Number(arg), arg === '301' ? { location: 'https://elsewhere.example/hook' } : {}).end(arg === '410' ? '' : `failure ${arg}`); break;
          case 'retry-after-seconds': res.writeHead(Number(arg), { 'retry-after': '120' }).end('slow down'); break;
          case 'retry-after-date': res.writeHead(429, { 'retry-after': new Date(Date.now() + 90_000).toUTCString() }).end(); break;
          case 'retry-after-huge': res.writeHead(503, { 'retry-after': '86400' }).end(); break;
          case 'big': res.writeHead(200).end(big); break;
          case 'hang': break; // never answers
          default: res.writeHead(500).end();
        }
      });
    });
    server.keepAliveTimeout = 500;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sinks: Sink[] = [];
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
  });
  function sink(allowedTargets = ['127.0.0.1/32'], totalTimeoutMs = 15_000): Sink {
    const created = createHttpSink({ logger: silentLogger(), allowedTargets, totalTimeoutMs, connectTimeoutMs: 1000, userAgent: 'async-events-test/1', previousTokens: () => ['old-token'] });
    sinks.push(created);
    return created;
  }
  const subscription = (path: string, url = base + path): Subscription => ({
    id: 3, eventName: payload.eventName, recipientUrl: url, verificationToken: token, active: true, subscribedAt: null, modified: null, metadata: 'http', storeId: 0,
  });
  const attempt = (path: string, format: PayloadFormat = 'cloudevents', url?: string) => ({ subscription: subscription(path, url), payload, format, deathCount: 0 });

  it.each<[PayloadFormat, string, string]>([
    ['cloudevents', `{"specversion":"1.0","id":"${payload.uuid}","source":"1","type":"sales.order.created","datacontenttype":"application\\/json","data":${data}}`, 'application/cloudevents+json; charset=utf-8'],
    ['legacy', `{"data":${data}}`, 'application/json'],
  ])('delivers %s, signed so that both a plain HMAC and standardwebhooks verify the raw body', async (format, expectedBody, contentType) => {
    const outcome = await sink().deliver(attempt('/ok', format));
    expect(outcome).toEqual({ success: true, retryable: false, responseData: '{"received":true}', statusCode: 200 });
    const got = received.at(-1) as Received;
    expect(got.body.toString('utf8')).toBe(expectedBody);
    expect(got.headers['content-type']).toBe(contentType);
    expect(got.headers['user-agent']).toBe('async-events-test/1');
    expect(got.headers['x-magento-signature']).toBe(createHmac('sha256', Buffer.from(token, 'utf8')).update(got.body).digest('hex'));
    expect(got.headers['x-magento-signature-previous']).toBe(createHmac('sha256', Buffer.from('old-token', 'utf8')).update(got.body).digest('hex'));
    const headers = { 'webhook-id': String(got.headers['webhook-id']), 'webhook-timestamp': String(got.headers['webhook-timestamp']), 'webhook-signature': String(got.headers['webhook-signature']) };
    expect(headers['webhook-id']).toBe(payload.uuid);
    expect(new Webhook('whsec_' + Buffer.from(token, 'utf8').toString('base64')).verify(got.body.toString('utf8'), headers)).toBeTruthy();
    expect(new Webhook('whsec_' + Buffer.from('old-token').toString('base64')).verify(got.body.toString('utf8'), headers)).toBeTruthy();
    expect(() => new Webhook('whsec_' + Buffer.from('wrong').toString('base64')).verify(got.body.toString('utf8'), headers)).toThrow();
  });

  it('delivers a CloudEvent that the official CloudEvents SDK reads in structured mode', async () => {
    await sink().deliver(attempt('/ok', 'cloudevents'));
    const got = received.at(-1) as Received;
    const event = HTTP.toEvent({ headers: got.headers, body: got.body.toString('utf8') });
    expect(Array.isArray(event)).toBe(false);
    const single = event as CloudEvent<unknown>;
    expect(single).toMatchObject({ specversion: '1.0', id: payload.uuid, source: '1', type: payload.eventName, datacontenttype: 'application/json' });
    expect(single.data).toEqual(JSON.parse(data));
  });

  it('keeps application/json for the legacy body, which is no CloudEvent', async () => {
    await sink().deliver(attempt('/ok', 'legacy'));
    const got = received.at(-1) as Received;
    expect(() => HTTP.toEvent({ headers: got.headers, body: got.body.toString('utf8') })).toThrow(/no cloud event detected/);
  });

  it.each<[string, { retryable: boolean; statusCode?: number; retryAfterSeconds?: number; disableSubscription?: boolean; responseData?: RegExp }]>([
    ['/status/408', { retryable: true, statusCode: 408 }],
    ['/retry-after-seconds/429', { retryable: true, statusCode: 429, retryAfterSeconds: 120, responseData: /^slow down$/ }],
    ['/status/500', { retryable: true, statusCode: 500, responseData: /^failure 500$/ }],
    ['/retry-after-seconds/503', { retryable: true, statusCode: 503, retryAfterSeconds: 120 }],
    ['/retry-after-huge', { retryable: true, statusCode: 503, retryAfterSeconds: 3600, responseData: /^HTTP 503$/ }],
    ['/status/400', { retryable: false, statusCode: 400, responseData: /^failure 400$/ }],
    ['/status/404', { retryable: false, statusCode: 404 }],
    ['/status/410', { retryable: false, statusCode: 410, disableSubscription: true, responseData: /^HTTP 410$/ }],
    ['/status/301', { retryable: false, statusCode: 301, responseData: /301 redirecting to https:\/\/elsewhere\.example\/hook; redirects are not followed/ }],
  ])('classifies %s', async (path, expected) => {
    const outcome = await sink().deliver(attempt(path));
    expect(outcome.success).toBe(false);
    expect(outcome.retryable).toBe(expected.retryable);
    expect(outcome.statusCode).toBe(expected.statusCode);
    expect(outcome.retryAfterSeconds).toBe(expected.retryAfterSeconds);
    expect(outcome.disableSubscription).toBe(expected.disableSubscription);
    if (expected.responseData) expect(outcome.responseData).toMatch(expected.responseData);
  });

  it('reads Retry-After as an HTTP date', async () => {
    const outcome = await sink().deliver(attempt('/retry-after-date'));
    expect(outcome.retryAfterSeconds).toBeGreaterThanOrEqual(88);
    expect(outcome.retryAfterSeconds).toBeLessThanOrEqual(91);
  });

  it('retries a refused connection', async () => {
    const port = await freePort();
    const outcome = await sink().deliver(attempt('', 'cloudevents', `http://127.0.0.1:${port}/hook`));
    expect(outcome).toMatchObject({ success: false, retryable: true });
    expect(outcome.responseData).toMatch(/ECONNREFUSED/);
  });

  it('retries a recipient that does not answer in time', async () => {
    const started = Date.now();
    const outcome = await sink(['127.0.0.1/32'], 300).deliver(attempt('/hang'));
    expect(outcome).toMatchObject({ success: false, retryable: true });
    expect(outcome.responseData).toMatch(/no complete response within 300 ms/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops when the caller aborts (shutdown) instead of reporting a failed attempt', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await sink().deliver({ ...attempt('/hang'), signal: controller.signal }).catch((e: unknown) => e);
    expect(isAsyncEventsError(error, 'SHUTTING_DOWN')).toBe(true);
  });

  it('truncates a long response to a MySQL TEXT without splitting a character', async () => {
    const outcome = await sink().deliver(attempt('/big'));
    expect(outcome.success).toBe(true);
    expect(Buffer.byteLength(outcome.responseData)).toBeLessThanOrEqual(65_535);
    expect(Buffer.byteLength(outcome.responseData)).toBeGreaterThan(65_500);
    expect(outcome.responseData).toMatch(/^(é)+ \[truncated\]$/);
  });

  it('refuses the loopback receiver when it is not allow-listed, without reaching it', async () => {
    const before = received.length;
    const outcome = await sink([]).deliver(attempt('/ok'));
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toMatch(/loopback.*ASYNC_EVENTS_ALLOWED_TARGETS/);
    expect(received.length).toBe(before);
  });

  it('checks the address a host name resolves to at connect time, and honours host names on the allow-list', async () => {
    const port = new URL(base).port;
    const rebinding = createHttpSink({ logger: silentLogger(), allowedTargets: [], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const allowedHost = createHttpSink({ logger: silentLogger(), allowedTargets: ['hooks.example'], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    sinks.push(rebinding, allowedHost);
    const before = received.length;
    const refused = await rebinding.deliver(attempt('', 'cloudevents', `http://hooks.example:${port}/ok`));
    expect(refused).toMatchObject({ success: false, retryable: false });
    expect(refused.responseData).toMatch(/"hooks\.example" resolves to 127\.0\.0\.1, which is a loopback address/);
    expect(received.length).toBe(before);
    expect(await allowedHost.deliver(attempt('', 'cloudevents', `http://hooks.example:${port}/ok`))).toMatchObject({ success: true });
    expect(received.at(-1)?.headers.host).toBe(`hooks.example:${port}`);
  });

  it('fails finally on an unusable recipient URL', async () => {
    expect(await sink().deliver(attempt('', 'cloudevents', 'not a url'))).toMatchObject({ success: false, retryable: false, responseData: expect.stringMatching(/not a valid URL/) });
    expect(await sink().deliver(attempt('', 'cloudevents', 'ftp://x.example/'))).toMatchObject({ retryable: false, responseData: expect.stringMatching(/must be http or https/) });
  });
});

describe('helpers', () => {
  it('parses Retry-After', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('99999', now)).toBe(3600);
  });
  it('truncates at a character boundary', () => {
    expect(truncateUtf8('abc', 10)).toBe('abc');
    const cut = truncateUtf8('😀'.repeat(10), 19);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(19);
    expect(cut).toBe('😀 [truncated]');
  });
});
