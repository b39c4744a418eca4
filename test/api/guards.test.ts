import { afterEach, describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../src/api/dependencies.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { startHarness, type Harness } from './harness.ts';

/* What the HTTP port tells a caller without a token, and how it slows a caller guessing tokens. */

describe('HTTP guards', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('/readyz and /healthz give states without error text to unauthenticated callers; details need the token', async () => {
    h = await startHarness();
    h.health = [
      { name: 'database', up: true, detail: 'sqlite /srv/var/async-events.sqlite' },
      { name: 'rabbitmq', up: false, detail: 'connect ECONNREFUSED 10.1.2.3:5672 as user magento' },
    ];
    for (const token of [null, 'wrong-token']) {
      const anonymous = await h.request('GET', '/readyz', { token });
      expect(anonymous.status).toBe(503);
      expect(anonymous.json).toEqual({ status: 'not ready', down: ['rabbitmq'], services: [{ name: 'database', up: true }, { name: 'rabbitmq', up: false }] });
      expect(anonymous.text).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|magento|srv/);
    }
    const detailed = await h.request('GET', '/readyz');
    expect(detailed.json).toMatchObject({ services: [{ name: 'database', detail: 'sqlite /srv/var/async-events.sqlite' }, { name: 'rabbitmq', detail: expect.stringContaining('ECONNREFUSED') }] });

    (h.deps as { health: ApiDependencies['health'] }).health = async () => {
      throw new Error('probe crashed reading /etc/secret-path');
    };
    const crashed = await h.request('GET', '/readyz', { token: null });
    expect(crashed.status).toBe(503);
    expect(crashed.text).not.toContain('secret-path');
    expect((await h.request('GET', '/readyz')).text).toContain('secret-path');

    expect((await h.request('GET', '/healthz', { token: null })).json).toEqual({ status: 'ok' });
    expect((await h.request('GET', '/healthz')).json).toMatchObject({ status: 'ok', uptime_seconds: expect.any(Number) });
  });

  it('/metrics needs the token unless metrics are public', async () => {
    h = await startHarness({ server: { metricsPublic: true } });
    const res = await h.request('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.text).toContain('# TYPE async_events_deliveries_total');
  });

  it('rate-limits refused tokens per address (429), counting only failures', async () => {
    h = await startHarness({ server: { signInLimit: { max: 3, windowMs: 60_000 } } });
    // Successful requests never count.
    for (let i = 0; i < 5; i += 1) expect((await h.request('GET', '/rest/V1/async_events/sinks')).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await h.request('GET', '/rest/V1/async_events/sinks', { token: `guess-${i}` })).status).toBe(401);
    const limited = await h.request('GET', '/rest/V1/async_events/sinks', { token: 'guess-4' });
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ message: expect.stringContaining('Too many refused tokens') });
    expect(limited.headers.get('retry-after')).toBe('60');
    // GraphQL signs in the same way, so it is covered by the same limiter.
    expect((await h.request('POST', '/graphql', { token: 'guess-5', body: { query: '{ sinks { key } }' } })).status).toBe(429);
    // Anonymous probes are not sign-ins.
    expect((await h.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('sends helmet security headers on every answer', async () => {
    h = await startHarness();
    for (const path of ['/rest/V1/async_events/sinks', '/healthz', '/rest/V1/nothing-here']) {
      const res = await h.request('GET', path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('ASYNC_EVENTS_HOST chooses the bind address, loopback by default; METRICS_PUBLIC is 1 or 0', async () => {
    const defaults = await loadSettings({ env: {}, cwd: '/tmp' });
    expect(defaults.host).toBe('127.0.0.1');
    expect(defaults.metricsPublic).toBe(false);
    const set = await loadSettings({ env: { ASYNC_EVENTS_HOST: '0.0.0.0', ASYNC_EVENTS_METRICS_PUBLIC: '1' }, cwd: '/tmp' });
    expect(set).toMatchObject({ host: '0.0.0.0', metricsPublic: true, origins: { host: 'env', metricsPublic: 'env' } });
    expect((await loadSettings({ flags: { host: '[::1]' }, env: {}, cwd: '/tmp' })).host).toBe('::1');
    await expect(loadSettings({ env: { ASYNC_EVENTS_HOST: 'not a host!' }, cwd: '/tmp' })).rejects.toThrow(/ASYNC_EVENTS_HOST/);
    await expect(loadSettings({ env: { ASYNC_EVENTS_METRICS_PUBLIC: 'maybe' }, cwd: '/tmp' })).rejects.toThrow(/ASYNC_EVENTS_METRICS_PUBLIC.*1 or 0/);
    h = await startHarness({ server: { host: '127.0.0.1' } });
    expect(h.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
