import { afterAll, beforeAll, expect, it } from 'vitest';
import { searchCsv } from '../../src/api/csv.ts';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import { silentLogger } from '../../src/logger.ts';
import { createBuiltinSearch } from '../../src/search/engine.ts';
import { cleanDeliveryLog } from '../../src/store/log-cleanup.ts';
import type { AttemptRecord, Store } from '../../src/store/store.ts';
import { describeWith } from '../support/services.ts';
import { BACKENDS, openStore } from './backends.ts';

/*
 * Each attempt keeps where it went (recipient and sink), written with its log row: the trace, the search (log
 * grid) and the CSV show it after the subscription changed; rows without it (the PHP module's) show the
 * subscription's current recipient; the cleanup removes it with its row.
 */

for (const backend of BACKENDS) {
  describeWith(backend.services, `attempt targets on ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const database = await backend.newDatabase();
      drop = database.drop;
      store = await openStore(database.settings, 'pfx_');
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('shows where each attempt went, whatever the subscription says now', async () => {
      const subscription = await store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: 'https://old.example.com/hook', verificationToken: 't', metadata: 'http' });
      const attempt = (uuid: string): AttemptRecord => ({
        uuid,
        subscriptionId: subscription.id,
        eventName: 'sales.order.created',
        storeId: '0',
        success: true,
        responseData: 'ok',
        serializedData: '{}',
        chainStatus: 'delivered',
        deathCount: 0,
        nextAttemptAt: null,
        recipientUrl: subscription.recipientUrl,
        sink: 'http',
      });
      // Concurrent attempts go in one grouped write.
      const ids = await Promise.all(['a', 'b', 'c'].map((n) => store.log.recordAttempt(attempt(`uuid-${n}`))));
      await store.subscriptions.update(subscription.id, { recipientUrl: 'arn:aws:events:eu-west-1:1:event-bus/new', metadata: 'eventbridge' });
      // A row written by the PHP module, without a target of ours.
      await store.db.insertInto('async_event_subscriber_log').values({ uuid: 'uuid-php', subscription_id: subscription.id, success: 1, response_data: '', created: '2024-01-01 00:00:00', serialized_data: '{}' }).execute();

      const traced = await store.log.attempts('uuid-b');
      expect(traced.map((row) => [row.recipientUrl, row.sink])).toEqual([['https://old.example.com/hook', 'http']]);
      const search = createBuiltinSearch({ db: store.db, dialect: store.dialect });
      const found = await search.search('*', { size: 10 });
      // Concurrent attempts may be grouped in any order: compare by uuid.
      expect(found.hits.map((hit) => [hit.uuid, hit.recipientUrl, hit.sink]).sort()).toEqual([
        ...['a', 'b', 'c'].map((n) => [`uuid-${n}`, 'https://old.example.com/hook', 'http']),
        ['uuid-php', 'arn:aws:events:eu-west-1:1:event-bus/new', 'eventbridge'],
      ]);
      expect(found.hits[0]?.uuid).toBe('uuid-php');
      let csv = '';
      for await (const chunk of searchCsv((q, page) => search.search(q, page), 'uuid:uuid-a')) csv += chunk;
      expect(csv.split('\r\n')[1]).toMatch(/,https:\/\/old\.example\.com\/hook,ok,http$/);
      expect(ids).toHaveLength(3);

      await store.db.updateTable('async_event_subscriber_log').set({ created: '2020-01-01 00:00:00' }).where('uuid', '=', 'uuid-a').execute();
      await store.configValues.set('system/async_events/subscriber_log_cleanup_cron', '1');
      expect(await cleanDeliveryLog(createAdminConfig(store.configValues, {}, { ttlMs: 0 }), store, silentLogger())).toBe(2);
      const left = await store.db.selectFrom('async_event_attempt_target').select('log_id').orderBy('log_id').execute();
      expect(left.map((row) => row.log_id)).toEqual(ids.slice(1).sort((x, y) => x - y));
    });
  });
}
