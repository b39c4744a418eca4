import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { flagOf } from '../../src/config/setting-variables.ts';
import { DEV_BIN, runCli, type CliResult } from '../support/cli.ts';
import { MAGENTO_TOKEN, REPO_ROOT, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/*
 * What a new user expects of the `async-events` command (issue 13, item 6), each checked on a real process:
 * --version, every README setting is a flag, bad values named by their flag, read-only commands that create
 * nothing, replay that says how it went, a demo that leaves a user's subscription alone, log lines with each key
 * once, and a doctor that names where every value came from.
 */

const EXAMPLE_ROOT = path.join(REPO_ROOT, 'examples/magento');

/** The test runner's own ASYNC_EVENTS_* variables would leak into the command: start from none. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ASYNC_EVENTS_')) env[key] = value;
  return { ...env, ASYNC_EVENTS_MAGENTO_ROOT: EXAMPLE_ROOT, ASYNC_EVENTS_AMQP: '', ASYNC_EVENTS_LOG_LEVEL: 'error', ...extra };
}

function cli(args: string[], options: { env?: Record<string, string>; cwd: string }): Promise<CliResult> {
  return runCli(args, { env: cleanEnv(options.env ?? {}), cwd: options.cwd });
}

/** Top-level keys of one JSON object line, in order, duplicates kept (JSON.parse would keep only the last). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      const start = i;
      i++;
      while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      const text = line.slice(start, i + 1);
      let j = i + 1;
      while (line[j] === ' ') j++;
      if (depth === 1 && line[j] === ':') keys.push(JSON.parse(text) as string);
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return keys;
}

/** Runs at most `limit` commands at once: each is a Node process with tsx, and the machine has two cores. */
async function mapLimited<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ae-expect-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the command line itself', () => {
  it('--version and -V print the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const [long, short] = await Promise.all([cli(['--version'], { cwd: tmp }), cli(['-V'], { cwd: tmp })]);
    expect(long).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(short).toMatchObject({ code: 0, stdout: `${version}\n` });
  }, 60_000);

  it('every variable the README documents is a flag of start', async () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    // ASYNC_EVENTS_TEST_* point the test suite at its services; they are not settings of the sidecar.
    const variables = [...new Set([...readme.matchAll(/`(ASYNC_EVENTS_[A-Z_]+)`/g)].map((m) => m[1] ?? ''))].filter((v) => !v.startsWith('ASYNC_EVENTS_TEST_'));
    expect(variables.length).toBeGreaterThan(20);
    const help = await cli(['start', '--help'], { cwd: tmp });
    expect(help.code).toBe(0);
    const missing = variables.filter((variable) => !help.stdout.includes(`--${flagOf(variable)} <`));
    expect(missing).toEqual([]);
  }, 60_000);

  it('a bad value is refused under its flag name (exit 2), numbers included', async () => {
    const cases: [string[], RegExp][] = [
      [['search', 'x', '--limit', 'abc'], /--limit/],
      [['search', 'x', '--limit', '5000'], /--limit/],
      [['parked', '--limit', '-3'], /--limit/],
      [['publish', 'sales.order.created', '{}', '--store-id', 'x'], /--store-id/],
      [['doctor', '--port', 'abc'], /--port/],
      [['search', 'x', '--http-timeout-ms', '12x'], /--http-timeout-ms/],
      [['start', '--prefetch', '0'], /--prefetch/],
      [['search', 'x', '--port', '70000'], /--port "70000" is invalid/],
      [['search', 'x', '--payload-format', 'bogus'], /--payload-format "bogus" is invalid/],
      [['search', 'x', '--db', 'nonsense'], /--db "nonsense" is invalid/],
      [['search', 'x', '--host', 'bad host!'], /--host "bad host!" is invalid/],
      [['search', 'x', '--log-level', 'loud'], /--log-level/],
      [['start', '--log-format', 'xml'], /--log-format/],
    ];
    const results = await mapLimited(cases, 3, ([args]) => cli(args, { cwd: tmp, env: { ASYNC_EVENTS_DATA_DIR: path.join(tmp, 'never') } }));
    results.forEach((result, i) => {
      const [args, named] = cases[i] ?? [[], /$^/];
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(named);
      expect(result.stderr, args.join(' ')).not.toMatch(/ASYNC_EVENTS_[A-Z_]+="/);
    });
    expect(existsSync(path.join(tmp, 'never'))).toBe(false);
  }, 180_000);
});

describe('read-only commands create nothing', () => {
  it('search, parked, doctor (and publish without --setup) on a data dir without a database: a clear error, no folder, no file', async () => {
    const dataDir = path.join(tmp, 'missing', 'data');
    const env = { ASYNC_EVENTS_DATA_DIR: dataDir };
    const file = path.join(dataDir, 'async-events.sqlite');
    const [search, parked, publish, doctor, explicit] = await mapLimited(
      [
        ['search', 'success: false'],
        ['parked'],
        // publish is not read-only, but without --setup it creates nothing either.
        ['publish', 'sales.order.created', '{"id":1}'],
        ['doctor'],
        ['search', 'success: false', '--db', `sqlite:${path.join(tmp, 'elsewhere', 'none.sqlite')}`],
      ],
      3,
      (args) => cli(args, { cwd: tmp, env }),
    );
    if (!search || !parked || !publish || !doctor || !explicit) throw new Error('a command did not run');
    for (const result of [search, parked, publish]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no database at ${file}`);
      expect(result.stderr).toMatch(/async-events migrate/);
    }
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toContain(`no database at ${path.join(tmp, 'elsewhere', 'none.sqlite')}`);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(`✗ database: no database at ${file}`);
    expect(existsSync(path.join(tmp, 'missing'))).toBe(false);
    expect(existsSync(path.join(tmp, 'elsewhere'))).toBe(false);
  }, 120_000);
});

describe('replay says how the replayed attempt went', () => {
  let sidecar: TestSidecar;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let uuid: string;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 500, body: 'recipient is down' }));
    sidecar = await startSidecar({ mode: 'sqlite' });
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http' });
    await sidecar.app.publish('sales.order.created', { id: 31 }, 0);
    uuid = await waitFor('the first attempt', () => receiver.requests[0]?.headers['webhook-id'] as string | undefined);
    await waitFor('its log row', async () => (await sidecar.app.store.log.attempts(uuid)).length > 0);
  });
  afterAll(async () => {
    await sidecar?.close();
    await receiver?.close();
  });

  it('a refused replay is reported as failed, with the answer, and exits 1', async () => {
    const before = receiver.requests.length;
    const result = await cli(['replay', uuid], { cwd: tmp, env: sidecar.env });
    expect(receiver.requests.length).toBeGreaterThan(before);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${uuid} failed \\(HTTP 500 from ${receiver.url}, (retrying, retry in \\d+ s|dead|failed), log_id \\d+\\): recipient is down`));
    expect(result.stderr).toContain('recipient is down');
    expect(result.stdout).toContain('1 replayed: 0 delivered, 1 failed');
  }, 60_000);

  it('an unknown UUID is not replayed, said so, exit 1', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const result = await cli(['replay', unknown], { cwd: tmp, env: sidecar.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${unknown} not replayed`);
    expect(result.stdout).toContain('0 delivered, 1 failed');
  }, 60_000);
});

/** `start --demo` (what `npm start` runs) until it is serving, then SIGTERM; its output and exit code. */
async function runDemo(cwd: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [DEV_BIN, 'start', '--demo', '--port', '0'], { cwd, env: cleanEnv({ ASYNC_EVENTS_LOG_LEVEL: 'debug', ASYNC_EVENTS_LOG_FORMAT: 'json', ...env }) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await waitFor('the demo serving', () => stdout.includes('Serving until Ctrl-C') || child.exitCode !== null, 60_000, 50);
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, stdout, stderr };
}

describe('npm start (start --demo) and doctor on the same data dir', () => {
  let cwd: string;
  let dataDir: string;
  let standin: MagentoStandin;
  const subscriptions = () => {
    const db = new Database(path.join(dataDir, 'async-events.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT subscription_id AS id, recipient_url AS url, status FROM async_event_subscriber ORDER BY subscription_id').all() as { id: number; url: string; status: number }[];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
    cwd = path.join(tmp, 'demo');
    mkdirSync(cwd);
    dataDir = path.join(cwd, 'var');
  });
  afterAll(async () => {
    await standin?.close();
  });

  let firstRun: CliResult;
  it('delivers the example order; log lines carry each key once', async () => {
    firstRun = await runDemo(cwd, {});
    expect(firstRun.stdout, firstRun.stderr).toContain('✔ delivered');
    const logLines = firstRun.stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(3);
    const repeated = logLines.filter((line) => new Set(topLevelKeys(line)).size !== topLevelKeys(line).length);
    expect(repeated).toEqual([]);
    expect(firstRun.code).toBe(0);
  }, 90_000);

  it('a second start reuses its own subscription, moved to the new receiver', async () => {
    const [before] = subscriptions();
    const second = await runDemo(cwd, {});
    expect(second.stdout).toContain('✔ delivered');
    const after = subscriptions();
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(before?.id);
    expect(after[0]?.status).toBe(1);
  }, 90_000);

  it('never rewrites or re-enables a subscription the user changed', async () => {
    const db = new Database(path.join(dataDir, 'async-events.sqlite'));
    db.prepare('UPDATE async_event_subscriber SET status = 0').run();
    db.close();
    const [disabled] = subscriptions();
    const third = await runDemo(cwd, {});
    expect(third.stdout).toContain('left as you set it');
    expect(third.stdout).not.toContain('✔ delivered');
    expect(subscriptions()).toEqual([disabled]);
  }, 90_000);

  it('doctor names the file behind every value it did not get from the environment, and warns about bridge routes', async () => {
    writeFileSync(path.join(cwd, '.env'), 'ASYNC_EVENTS_PAYLOAD_FORMAT=legacy\n');
    const result = await cli(['doctor'], { cwd, env: { ASYNC_EVENTS_MAGENTO_URL: standin.url, ASYNC_EVENTS_MAGENTO_TOKEN: MAGENTO_TOKEN } });
    const row = (name: string) => result.stdout.split('\n').find((line) => line.trimStart().startsWith(`${name} `)) ?? '';
    expect(row('ASYNC_EVENTS_PAYLOAD_FORMAT')).toMatch(new RegExp(`legacy\\s+\\(dotenv ${path.join(cwd, '.env')}\\)$`));
    expect(row('ASYNC_EVENTS_API_TOKEN')).toMatch(new RegExp(`\\(generated ${path.join(dataDir, 'api-token')}\\)$`));
    expect(row('ASYNC_EVENTS_API_TOKEN')).not.toContain(readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim());
    expect(row('crypt/key')).toMatch(new RegExp(`1 key\\(s\\), \\*{4}\\s+\\(generated ${path.join(dataDir, 'crypt.key')}\\)$`));
    expect(row('system.default')).toMatch(new RegExp(`\\(config\\.php ${path.join(EXAMPLE_ROOT, 'app/etc/config.php')}\\)$`));
    expect(row('ASYNC_EVENTS_MAGENTO_URL')).toMatch(/\(env\)$/);
    // customer.login's service has no REST route in the example root: it needs the bridge module, not installed.
    expect(result.stdout).toMatch(/^! bridge routes: 1 event\(s\) .*customer\.login/m);
    expect(result.stdout).toMatch(/fix: run `async-events generate --out .*MageOS\/AsyncEvents`/);
    // A warning, not a failure: everything else is healthy.
    expect(result.code, result.stdout).toBe(0);
  }, 60_000);

  it('doctor names env.php for the values it read there', async () => {
    const root = path.join(tmp, 'magento');
    cpSync(EXAMPLE_ROOT, root, { recursive: true });
    const envPhp = path.join(root, 'app/etc/env.php');
    writeFileSync(
      envPhp,
      "<?php\nreturn [\n  'db' => ['table_prefix' => 'pre_'],\n  'system' => ['default' => ['web' => ['secure' => ['base_url' => 'https://shop.test/']]]],\n];\n",
    );
    const result = await cli(['doctor'], { cwd, env: { ASYNC_EVENTS_MAGENTO_ROOT: root, ASYNC_EVENTS_DATA_DIR: path.join(tmp, 'doctor-data') } });
    const row = (name: string) => result.stdout.split('\n').find((line) => line.trimStart().startsWith(`${name} `)) ?? '';
    expect(row('ASYNC_EVENTS_MAGENTO_URL')).toMatch(new RegExp(`https://shop\\.test\\s+\\(env\\.php ${envPhp}\\)$`));
    expect(row('db.table_prefix')).toMatch(new RegExp(`pre_\\s+\\(env\\.php ${envPhp}\\)$`));
    expect(row('system.default')).toContain(`${path.join(root, 'app/etc/config.php')} + ${envPhp}`);
    expect(existsSync(path.join(tmp, 'doctor-data'))).toBe(false);
  }, 60_000);
});
