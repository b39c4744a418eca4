import { randomUUID } from 'node:crypto';
import type { DatabaseSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { createStore } from '../../src/store/index.ts';

/*
 * A separate process writing delivery attempts, for the test that several processes share one database
 * (the embedded SQLite file in particular). Usage: node --import tsx concurrent-writer.ts '<json>'.
 */
const input = JSON.parse(process.argv[2] ?? '{}') as { settings: DatabaseSettings; prefix: string; key: string; subscriptionId: number; count: number; startAt: number };
const store = await createStore({ database: input.settings, tablePrefix: input.prefix, cryptKeys: [input.key], logger: silentLogger() });
try {
  // Start together with the other writers so their transactions really overlap.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, input.startAt - Date.now())));
  for (let i = 0; i < input.count; i += 1) {
    await store.log.recordAttempt({
      uuid: randomUUID(),
      subscriptionId: input.subscriptionId,
      eventName: 'log.concurrent',
      storeId: '0',
      success: true,
      responseData: `from pid ${process.pid}`,
      serializedData: '{}',
      chainStatus: 'delivered',
      deathCount: 0,
      nextAttemptAt: null,
    });
  }
} finally {
  await store.close();
}
