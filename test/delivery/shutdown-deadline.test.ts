import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { describeWith, freePort, type ServiceName } from '../support/services.ts';
import { MAGENTO_TOKEN, REPO_ROOT, sidecarEnvironment, startReceiver, waitFor, type QueueMode } from '../support/sidecar.ts';

/*
 * SIGTERM while every delivery hangs: the process keeps its shutdown deadline (the recipients would hold it for the
 * two minutes of the HTTP timeout), records nothing for the cut-off attempts and hands their messages back, so a new
 * process delivers every event right away, under the same UUIDs (webhook-id). On the database queue the claims are
 * released, not left to run out their lease (five minutes here).
 */

const EVENTS = 6;
const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `SIGTERM with hanging deliveries on ${mode}`, () => {
    let standin: MagentoStandin;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    let app: App;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
      receiver = await startReceiver(() => 'hang');
      const environment = await sidecarEnvironment(mode, standin.url);
      env = {
        ...environment.env,
        ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS: '1000',
        ASYNC_EVENTS_HTTP_TIMEOUT_MS: '120000',
        ASYNC_EVENTS_QUEUE_LEASE_SECONDS: '300',
        ASYNC_EVENTS_QUEUE_POLL_MS: '20',
        ASYNC_EVENTS_LOG_LEVEL: 'warn',
      };
      cleanup = environment.cleanup;
      app = await createApp({ settings: await loadSettings({ env, cwd: environment.dataDir }), logger: silentLogger() });
    });
    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await app?.close();
      await receiver?.close();
      await standin?.close();
      await cleanup?.();
    });

    const startSidecarProcess = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/async-events-dev.js'), 'start'], {
        env: { ...process.env, ...env, ASYNC_EVENTS_PORT: String(await freePort()) },
        stdio: ['ignore', 'ignore', process.env.SHUTDOWN_DEBUG ? 'inherit' : 'ignore'],
      });
      children.push(child);
      return child;
    };

    it('exits within its deadline, then every event is delivered after a restart under the same UUID', async () => {
      await app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      for (let i = 0; i < EVENTS; i++) await app.publish('sales.order.created', { id: 500 + i }, 0);

      const first = await startSidecarProcess();
      await waitFor('every delivery hanging at the recipient', () => receiver.requests.length >= EVENTS, 60_000);
      const hangingIds = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      expect(hangingIds.size).toBe(EVENTS);

      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
      first.kill('SIGTERM');
      // Far less than the HTTP timeout: only the shutdown deadline can end these deliveries this soon.
      const code = await waitFor('the process to exit', () => Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]).then((c) => (c === undefined ? undefined : { c })), 30_000);
      expect(code.c).toBe(0);
      // The cut-off attempts recorded nothing: they are not outcomes of the recipient.
      expect(await app.store.log.count()).toBe(0);

      receiver.setReply(() => ({ status: 200, body: 'ok' }));
      await startSidecarProcess();
      const chains = await waitFor(
        'every chain delivered',
        async () => {
          const all = await app.store.log.chains({ limit: EVENTS * 2 });
          return all.length >= EVENTS && all.every((c) => c.status === 'delivered') ? all : undefined;
        },
        60_000,
        100,
      );
      expect(chains).toHaveLength(EVENTS);
      expect(new Set(chains.map((c) => c.uuid))).toEqual(hangingIds);
      const redelivered = new Set(receiver.requests.slice(EVENTS).map((r) => String(r.headers['webhook-id'])));
      expect(redelivered).toEqual(hangingIds);
    }, 180_000);
  });
}
