import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { describeWith, type ServiceName } from '../support/services.ts';
import { MAGENTO_TOKEN, REPO_ROOT, sidecarEnvironment, startReceiver, waitFor, type QueueMode } from '../support/sidecar.ts';

/*
 * At-least-once under a crash: a consumer process is killed with SIGKILL in the middle of 2,000 events and
 * restarted; every chain must end with a success row. Redelivered messages continue their own chains (the chain
 * UUID derives from the message id), so the count of chains stays 2,000.
 */

const EVENTS = Number(process.env.CRASH_EVENTS ?? 2000);
const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
  { mode: 'sqlite', services: [] },
];

for (const { mode, services } of modes) {
  describeWith(services, `SIGKILL mid-run on ${mode}`, () => {
    let standin: MagentoStandin;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    let app: App;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
      receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      const environment = await sidecarEnvironment(mode, standin.url);
      env = { ...environment.env, ASYNC_EVENTS_QUEUE_LEASE_SECONDS: '2', ASYNC_EVENTS_QUEUE_POLL_MS: '20', ASYNC_EVENTS_LOG_LEVEL: 'warn', ASYNC_EVENTS_LOG_FORMAT: 'json' };
      cleanup = environment.cleanup;
      app = await createApp({ settings: await loadSettings({ env, cwd: environment.dataDir }), logger: silentLogger() });
    });
    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await app?.close();
      await receiver?.close();
      await standin?.close();
      if (!process.env.CRASH_DEBUG) await cleanup?.();
      else console.log('data dir', env.ASYNC_EVENTS_DATA_DIR, env.ASYNC_EVENTS_DB);
    });

    const startConsumer = () => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/async-events-dev.js'), 'consumer:start', 'event.trigger.consumer'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', process.env.CRASH_DEBUG ? 'inherit' : 'ignore'],
      });
      children.push(child);
      return child;
    };

    it(`every one of ${EVENTS} chains ends delivered`, async () => {
      await app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      for (let i = 0; i < EVENTS; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => app.publish('sales.order.created', { id: 10_000 + i + j }, 0)));
      }

      const first = startConsumer();
      await waitFor('some deliveries', () => receiver.requests.length >= 300, 60_000);
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const deliveredBeforeCrash = receiver.requests.length;
      expect(deliveredBeforeCrash).toBeLessThan(EVENTS);

      const second = startConsumer();
      const delivered = await waitFor(
        'every chain delivered',
        async () => {
          const chains = await app.store.log.chains({ limit: EVENTS * 2 });
          const done = chains.filter((c) => c.status === 'delivered').length;
          if (process.env.CRASH_DEBUG) console.log(`chains ${chains.length}, delivered ${done}, received ${receiver.requests.length}`);
          return chains.length >= EVENTS && done === chains.length ? chains : undefined;
        },
        Number(process.env.CRASH_WAIT ?? 120_000),
        250,
      );
      expect(delivered).toHaveLength(EVENTS);
      // Each chain has a success row in the upstream log table.
      const successes = await app.store.log.count({ success: true });
      expect(successes).toBeGreaterThanOrEqual(EVENTS);
      const ids = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(EVENTS);

      // SIGTERM: stop taking work, finish in flight, exit 0.
      second.kill('SIGTERM');
      const code = await new Promise((resolve) => second.once('exit', resolve));
      expect(code).toBe(0);
    }, 180_000);
  });
}
