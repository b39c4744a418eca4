import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import type { Logger } from '../../src/logger.ts';
import type { ConfigValues } from '../../src/store/store.ts';

/** core_config_data in memory, counting reads so caching is visible. */
function makeConfigValues(initial: Record<string, string> = {}): ConfigValues & { reads: number; failing: boolean } {
  const values = new Map(Object.entries(initial));
  const fake = {
    reads: 0,
    failing: false,
    async get(path: string) {
      fake.reads += 1;
      if (fake.failing) throw new Error('connection lost');
      return values.get(path);
    },
    async getAll(prefix: string) {
      return Object.fromEntries([...values].filter(([key]) => key.startsWith(prefix)));
    },
    async set(path: string, value: string) {
      values.set(path, value);
    },
  };
  return fake;
}

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(String((JSON.parse(chunk.toString()) as { msg: string }).msg));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

describe('createAdminConfig', () => {
  it('returns the defaults when core_config_data has nothing', async () => {
    const config = createAdminConfig(makeConfigValues(), {});
    expect(await config.maxDeaths()).toBe(5);
    expect(await config.indexingEnabled()).toBe(true);
    expect(await config.logCleanupEnabled()).toBe(false);
    expect(await config.logLifetimeDays()).toBe(30);
    expect(await config.get('system/async_events/unknown')).toBeUndefined();
  });

  it('reads stored values, Magento flag semantics included', async () => {
    const config = createAdminConfig(
      makeConfigValues({
        'system/async_events/max_deaths': '0',
        'system/async_events/indexing_enabled': '0',
        'system/async_events/subscriber_log_cleanup_cron': '1',
        'system/async_events/subscriber_log_cron_delete_period': ' 7 ',
      }),
      {},
    );
    expect(await config.maxDeaths()).toBe(0);
    expect(await config.indexingEnabled()).toBe(false);
    expect(await config.logCleanupEnabled()).toBe(true);
    expect(await config.logLifetimeDays()).toBe(7);
  });

  it('lets env.php overrides win without asking the database', async () => {
    const values = makeConfigValues({ 'system/async_events/max_deaths': '9' });
    const config = createAdminConfig(values, { 'system/async_events/max_deaths': '2' });
    expect(await config.maxDeaths()).toBe(2);
    expect(values.reads).toBe(0);
  });

  it('falls back to the default with one warning for bad values', async () => {
    const { logger, lines } = captureLogger();
    const config = createAdminConfig(
      makeConfigValues({ 'system/async_events/max_deaths': '-1', 'system/async_events/subscriber_log_cron_delete_period': '0' }),
      {},
      { logger, ttlMs: 0 },
    );
    expect(await config.maxDeaths()).toBe(5);
    expect(await config.maxDeaths()).toBe(5);
    expect(await config.logLifetimeDays()).toBe(30);
    expect(lines).toEqual([
      'system/async_events/max_deaths = "-1" is not a non-negative whole number; using 5',
      'system/async_events/subscriber_log_cron_delete_period = "0" is not a whole number of at least 1; using 30',
    ]);
  });

  it('caches for the TTL, then sees a change made in core_config_data', async () => {
    let now = 1_000;
    const values = makeConfigValues({ 'system/async_events/max_deaths': '3' });
    const config = createAdminConfig(values, {}, { ttlMs: 2000, now: () => now });
    expect(await Promise.all([config.maxDeaths(), config.maxDeaths()])).toEqual([3, 3]);
    expect(values.reads).toBe(1);
    await values.set('system/async_events/max_deaths', '8');
    now += 1999;
    expect(await config.maxDeaths()).toBe(3);
    now += 2;
    expect(await config.maxDeaths()).toBe(8);
    expect(values.reads).toBe(2);
  });

  it('serves the last value when the database fails, and fails when it never answered', async () => {
    let now = 0;
    const values = makeConfigValues({ 'system/async_events/max_deaths': '4' });
    const config = createAdminConfig(values, {}, { ttlMs: 10, now: () => now });
    expect(await config.maxDeaths()).toBe(4);
    values.failing = true;
    now += 100;
    expect(await config.maxDeaths()).toBe(4);
    await expect(config.logLifetimeDays()).rejects.toThrow('connection lost');
  });
});
