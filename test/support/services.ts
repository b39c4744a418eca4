import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe } from 'vitest';

/*
 * Real services for the suites that need them. In CI (CI=true) a missing service fails the suite; elsewhere the
 * suite is skipped with one line saying why, so `npm test` still runs on a laptop without RabbitMQ.
 */

export type ServiceName = 'mariadb' | 'rabbitmq' | 'php' | 'chromium';

// ASYNC_EVENTS_TEST_MARIADB_PORT points the suites at a private server; ASYNC_EVENTS_TEST_MARIADB_DAEMON_ARGS are
// the mariadbd arguments a chaos restart starts it with again.
export const MARIADB = { host: '127.0.0.1', port: Number(process.env['ASYNC_EVENTS_TEST_MARIADB_PORT'] ?? 3306), user: 'root', password: '' };
// ASYNC_EVENTS_TEST_RABBITMQ_PORT / _NODE point the suites at a private broker, so a chaos run can restart it
// without breaking whatever else uses the shared one.
export const RABBITMQ = { host: '127.0.0.1', port: Number(process.env['ASYNC_EVENTS_TEST_RABBITMQ_PORT'] ?? 5672), user: 'guest', password: 'guest' };
const RABBITMQCTL_NODE = process.env['ASYNC_EVENTS_TEST_RABBITMQ_NODE'];

/** rabbitmqctl's arguments for the broker the suites use. */
export function rabbitmqctl(...args: string[]): string[] {
  return RABBITMQCTL_NODE ? ['-n', RABBITMQCTL_NODE, ...args] : args;
}

const availability = new Map<ServiceName, string | undefined>();

function portOpen(host: string, port: number): boolean {
  // Synchronous probe so `describe` can decide before collecting tests.
  const script = `const s=require('net').connect(${port},'${host}');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1500)`;
  try {
    execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the service cannot be used, or undefined when it can. */
export function missingReason(service: ServiceName): string | undefined {
  if (!availability.has(service)) {
    let reason: string | undefined;
    switch (service) {
      case 'mariadb':
        reason = portOpen(MARIADB.host, MARIADB.port) ? undefined : `no MariaDB on ${MARIADB.host}:${MARIADB.port}`;
        break;
      case 'rabbitmq':
        reason = portOpen(RABBITMQ.host, RABBITMQ.port) ? undefined : `no RabbitMQ on ${RABBITMQ.host}:${RABBITMQ.port}`;
        break;
      case 'php':
        reason = commandWorks('php', ['-v']) ? undefined : 'no php binary on PATH (apt-get install php8.2-cli)';
        break;
      case 'chromium':
        reason = commandWorks('chromium', ['--version']) ? undefined : 'no chromium on PATH (apt-get install chromium)';
        break;
    }
    availability.set(service, reason);
  }
  return availability.get(service);
}

/**
 * `describe` that needs real services. Missing in CI: the suite fails with the reason. Missing elsewhere: it is
 * skipped and the reason is printed once.
 */
export function describeWith(services: ServiceName[], name: string, body: () => void): void {
  const reasons = services.map(missingReason).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`required service missing in CI: ${reasons.join('; ')}`);
    });
    return;
  }
  console.warn(`skipping "${name}": ${reasons.join('; ')}`);
  describe.skip(name, body);
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Creates an empty MariaDB database and returns its name; drop it with `dropDatabase`. */
export async function createDatabase(prefix = 'ae_test'): Promise<string> {
  const { createConnection } = await import('mysql2/promise');
  const name = uniqueName(prefix);
  const conn = await createConnection({ ...MARIADB });
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.end();
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection({ ...MARIADB });
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.end();
}

/** A fresh RabbitMQ vhost the guest user may use, so suites never see each other's queues. */
export function createVhost(prefix = 'ae_test'): { name: string; url: string } {
  const name = uniqueName(prefix);
  execFileSync('rabbitmqctl', rabbitmqctl('-q', 'add_vhost', name), { stdio: 'ignore' });
  execFileSync('rabbitmqctl', rabbitmqctl('-q', 'set_permissions', '-p', name, RABBITMQ.user, '.*', '.*', '.*'), { stdio: 'ignore' });
  return { name, url: `amqp://${RABBITMQ.user}:${RABBITMQ.password}@${RABBITMQ.host}:${RABBITMQ.port}/${encodeURIComponent(name)}` };
}

export function deleteVhost(name: string): void {
  execFileSync('rabbitmqctl', rabbitmqctl('-q', 'delete_vhost', name), { stdio: 'ignore' });
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const execAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForPort(port: number, up: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await probePort('127.0.0.1', port)) !== up) {
    if (Date.now() > deadline) throw new Error(`port ${port} did not go ${up ? 'up' : 'down'} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function probePort(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Stops RabbitMQ's application (every connection drops), keeps it down for `downMs`, starts it again. Async, so
 * the sidecar under test keeps running (and failing to reach the broker) meanwhile.
 */
export async function restartRabbitmq(downMs = 2000): Promise<void> {
  await execAsync('rabbitmqctl', rabbitmqctl('-q', 'stop_app'));
  await sleep(downMs);
  await execAsync('rabbitmqctl', rabbitmqctl('-q', 'start_app'));
  await execAsync('rabbitmqctl', rabbitmqctl('-q', 'await_startup'));
}

/** Shuts MariaDB down, keeps it down for `downMs`, starts it with the command this machine kind uses. */
export async function restartMariadb(downMs = 2000): Promise<void> {
  await execAsync('mariadb-admin', ['-h', MARIADB.host, '-P', String(MARIADB.port), '-u', MARIADB.user, 'shutdown']);
  await waitForPort(MARIADB.port, false, 30_000);
  await sleep(downMs);
  const privateArgs = process.env['ASYNC_EVENTS_TEST_MARIADB_DAEMON_ARGS'];
  if (privateArgs) spawn('/usr/sbin/mariadbd', privateArgs.split(' '), { detached: true, stdio: 'ignore' }).unref();
  // start-stop-daemon matches any running mariadbd: with a private server still up it would start nothing.
  else await execAsync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']);
  await waitForPort(MARIADB.port, true, 60_000);
}
