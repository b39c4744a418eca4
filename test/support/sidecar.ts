import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { createDatabase, createVhost, deleteVhost, dropDatabase, MARIADB } from './services.ts';

/*
 * A whole sidecar for end-to-end tests: the example Magento root, a Magento REST stand-in, a real store and a
 * real queue (SQLite + database queue, MariaDB + database queue, or MariaDB + RabbitMQ), both consumers running.
 */

export type QueueMode = 'sqlite' | 'mariadb' | 'amqp';

export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const MAGENTO_TOKEN = 'test-integration-token';
export const API_TOKEN = 'test-api-token';

export interface TestSidecar {
  readonly app: App;
  readonly standin: MagentoStandin;
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export interface SidecarOptions {
  readonly mode: QueueMode;
  readonly maxDeaths?: number;
  readonly env?: Record<string, string>;
  readonly app?: Partial<AppOptions>;
  readonly startConsumers?: boolean;
}

/** Settings environment for a mode; creates the database / vhost it needs. */
export async function sidecarEnvironment(mode: QueueMode, standinUrl: string): Promise<{ env: Record<string, string>; cleanup: () => Promise<void>; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ae-sidecar-'));
  const env: Record<string, string> = {
    ASYNC_EVENTS_MAGENTO_ROOT: path.join(REPO_ROOT, 'examples/magento'),
    ASYNC_EVENTS_MAGENTO_URL: standinUrl,
    ASYNC_EVENTS_MAGENTO_TOKEN: MAGENTO_TOKEN,
    ASYNC_EVENTS_API_TOKEN: API_TOKEN,
    ASYNC_EVENTS_ALLOWED_TARGETS: '127.0.0.1/32',
    ASYNC_EVENTS_DATA_DIR: dataDir,
    ASYNC_EVENTS_AMQP: '',
    ASYNC_EVENTS_DB: `sqlite:${path.join(dataDir, 'async-events.sqlite')}`,
  };
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  if (mode !== 'sqlite') {
    const database = await createDatabase('ae_e2e');
    env.ASYNC_EVENTS_DB = `mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${database}`;
    cleanups.push(() => dropDatabase(database));
  }
  if (mode === 'amqp') {
    const vhost = createVhost('ae_e2e');
    env.ASYNC_EVENTS_AMQP = vhost.url;
    cleanups.push(async () => deleteVhost(vhost.name));
  }
  return {
    env,
    dataDir,
    cleanup: async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    },
  };
}

export async function startSidecar(options: SidecarOptions): Promise<TestSidecar> {
  const standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
  const { env, cleanup, dataDir } = await sidecarEnvironment(options.mode, standin.url);
  Object.assign(env, options.env ?? {});
  const settings = await loadSettings({ env, cwd: dataDir });
  const app = await createApp({ settings, logger: silentLogger(), databaseQueue: { pollIntervalMs: 25, leaseSeconds: 5 }, ...options.app });
  if (options.maxDeaths !== undefined) await app.store.configValues.set('system/async_events/max_deaths', String(options.maxDeaths));
  if (options.startConsumers !== false) await app.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
  return {
    app,
    standin,
    env,
    close: async () => {
      await app.close();
      await standin.close();
      await cleanup();
    },
  };
}

export interface ReceivedRequest {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export type Reply = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } | 'hang' | 'destroy';

/** A webhook receiver on loopback whose answers the test scripts. */
export async function startReceiver(reply: (request: ReceivedRequest, index: number) => Reply = () => ({ status: 200, body: '{"ok":true}' })) {
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let script = reply;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      const answer = script(request, requests.length - 1);
      if (answer === 'hang') return;
      if (answer === 'destroy') {
        req.socket.destroy();
        return;
      }
      const send = () => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    setReply(next: typeof reply) {
      script = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
