import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serviceKey } from '../../src/bridge/routes.ts';
import { generateBridge } from '../../src/bridge/generate.ts';
import { silentLogger } from '../../src/logger.ts';
import { describeWith, MARIADB, RABBITMQ } from '../support/services.ts';
import { REPO_ROOT, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/*
 * The drop-in promise end to end: an observer written the way upstream's README shows runs in real PHP against
 * the GENERATED bridge module, publishes through RabbitMQ (the amqp extension) or Magento's queue tables in
 * MariaDB (PDO), and the sidecar delivers the event to a receiver.
 */

const run = promisify(execFile);

for (const mode of ['amqp', 'db'] as const) {
  describeWith(['php', 'mariadb', ...(mode === 'amqp' ? (['rabbitmq'] as const) : [])], `PHP observer → generated bridge → sidecar (${mode})`, () => {
    let sidecar: TestSidecar;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let moduleDir: string;

    beforeAll(async () => {
      receiver = await startReceiver();
      sidecar = await startSidecar({ mode: mode === 'amqp' ? 'amqp' : 'mariadb' });
      moduleDir = mkdtempSync(path.join(os.tmpdir(), 'ae-bridge-'));
      const routed = new Set(sidecar.app.routes.all().filter((r) => r.module !== 'MageOS_AsyncEvents').map((r) => serviceKey(r.serviceClass, r.serviceMethod)));
      await generateBridge({ events: sidecar.app.events(), routedServices: routed, outDir: moduleDir, logger: silentLogger() });
    });
    afterAll(async () => {
      await sidecar?.close();
      await receiver?.close();
      if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
    });

    it('delivers the event an unchanged upstream-style observer publishes', async () => {
      await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 'php', metadata: 'http', storeId: 0 });
      const args = ['php-bridge/harness/run-observer.php', '--module', moduleDir, '--observer', 'sales-order', '--event', 'sales.order.created', '--data', '{"id":77}'];
      if (mode === 'amqp') {
        const vhost = decodeURIComponent(new URL(sidecar.env.ASYNC_EVENTS_AMQP ?? '').pathname.slice(1));
        args.push('--mode', 'amqp', '--host', RABBITMQ.host, '--port', String(RABBITMQ.port), '--user', RABBITMQ.user, '--password', RABBITMQ.password, '--vhost', vhost);
      } else {
        const database = new URL(sidecar.env.ASYNC_EVENTS_DB ?? '').pathname.slice(1);
        args.push('--mode', 'db', '--host', MARIADB.host, '--port', String(MARIADB.port), '--user', MARIADB.user, '--password', MARIADB.password, '--dbname', database, '--queues', 'event.trigger');
      }
      const { stdout } = await run('php', args, { cwd: REPO_ROOT });
      expect(JSON.parse(stdout).published).toHaveLength(1);

      const request = await waitFor('the webhook', () => receiver.requests[0], 20_000);
      const body = JSON.parse(request.body) as { type: string; source: string; data: { entity_id: number } };
      // The README's observer passes no store id: the PHP default, store 0.
      expect(body).toMatchObject({ type: 'sales.order.created', source: '0', data: { entity_id: 77 } });
    });
  });
}
