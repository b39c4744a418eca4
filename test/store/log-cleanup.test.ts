import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import { silentLogger } from '../../src/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { cleanDeliveryLog } from '../../src/store/log-cleanup.ts';
import type { Store } from '../../src/store/store.ts';

describe('delivery log cleanup', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ae-cleanup-'));
    store = await createStore({ database: { kind: 'sqlite', path: path.join(dir, 'c.sqlite') }, tablePrefix: '', cryptKeys: ['0123456789abcdef0123456789abcdef'], logger: silentLogger() });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes rows past the lifetime only while the admin switch is on', async () => {
    const subscription = await store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: 'https://example.com/h', verificationToken: 't', metadata: 'http' });
    for (let i = 0; i < 5; i++) {
      await store.log.recordAttempt({ uuid: `u-${i}`, subscriptionId: subscription.id, eventName: 'sales.order.created', storeId: '0', success: true, responseData: 'ok', serializedData: '{}', chainStatus: 'delivered', deathCount: 0, nextAttemptAt: null });
    }
    await store.db.updateTable('async_event_subscriber_log').set({ created: '2020-01-01 00:00:00' }).where('uuid', 'in', ['u-0', 'u-1', 'u-2']).execute();
    const config = createAdminConfig(store.configValues, {}, { ttlMs: 0 });

    expect(await cleanDeliveryLog(config, store, silentLogger())).toBe(0);
    expect(await store.log.count()).toBe(5);

    await store.configValues.set('system/async_events/subscriber_log_cleanup_cron', '1');
    await store.configValues.set('system/async_events/subscriber_log_cron_delete_period', '30');
    expect(await cleanDeliveryLog(config, store, silentLogger())).toBe(3);
    expect((await store.log.rows({ limit: 10 })).map((r) => r.uuid).sort()).toEqual(['u-3', 'u-4']);
  });
});
