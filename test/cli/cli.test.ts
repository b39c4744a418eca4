import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { encodeTriggerMessage } from '../../src/queue/publish.ts';
import { startFakeElasticsearch } from '../search/support/fake-elasticsearch.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { MAGENTO_TOKEN, REPO_ROOT, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/* The `async-events` command as a user runs it: a real process, real exit codes, output on stdout/stderr. */

function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(args, { env: { ...process.env, ...env, ASYNC_EVENTS_LOG_LEVEL: 'error' }, cwd: env.ASYNC_EVENTS_DATA_DIR ?? REPO_ROOT });
}

describe('async-events CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let standin: MagentoStandin;

  beforeAll(async () => {
    standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ae-cli-'));
    env = {
      ASYNC_EVENTS_MAGENTO_ROOT: path.join(REPO_ROOT, 'examples/magento'),
      ASYNC_EVENTS_DATA_DIR: dataDir,
      ASYNC_EVENTS_DB: `sqlite:${path.join(dataDir, 'cli.sqlite')}`,
      ASYNC_EVENTS_AMQP: '',
    };
  });
  afterAll(async () => {
    await standin?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('validate lists the example events per module and exits 0', async () => {
    const result = await cli(['validate'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Acme_OrderEvents: 4 events/);
    expect(result.stdout).toMatch(/Acme_CustomerEvents: 2 events/);
  });

  it('validate exits 2 for a missing root, naming it', async () => {
    const result = await cli(['validate', '--magento-root', '/nonexistent/magento'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('/nonexistent/magento');
  });

  it('migrate creates the tables, then reports them unchanged', async () => {
    const first = await cli(['migrate'], env);
    expect(first.code).toBe(0);
    const second = await cli(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/unchanged async_event_subscriber\b/);
    expect(second.stdout).not.toMatch(/^created/m);
  });

  it('publish writes exactly what the PHP publisher writes to the database queue', async () => {
    const result = await cli(['publish', 'sales.order.created', '{"id":5,"url":"https://shop.test/"}', '--store-id', '1'], env);
    expect(result.code).toBe(0);
    const db = new Database(path.join(dataDir, 'cli.sqlite'), { readonly: true });
    const row = db.prepare("SELECT body, topic_name FROM queue_message ORDER BY id DESC LIMIT 1").get() as { body: string; topic_name: string };
    db.close();
    // PHP: json_encode($data) escapes "/" as "\/"; the message encoder's json_encode of the array escapes that again.
    expect(row).toEqual({ topic_name: 'event.trigger', body: String.raw`["sales.order.created","{\"id\":5,\"url\":\"https:\\\/\\\/shop.test\\\/\"}","1"]` });
  });

  it('publish refuses arguments that are not a JSON object (exit 2)', async () => {
    const result = await cli(['publish', 'sales.order.created', '[1,2]'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/JSON object/);
  });

  it('consumer:start refuses an unknown consumer name (exit 2)', async () => {
    const result = await cli(['consumer:start', 'event.bogus.consumer'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/event\.trigger\.consumer/);
  });

  it('start says which port is taken instead of a stack trace (exit 1)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await cli(['start', '--port', String(port)], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('doctor says what is wrong and how to fix it', async () => {
    const broken = await cli(['doctor'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/✗ Magento callback/);
    expect(broken.stdout).toMatch(/fix: set ASYNC_EVENTS_MAGENTO_URL/);
    expect(broken.stdout).toMatch(/✔ database/);
    const healthy = await cli(['doctor'], { ...env, ASYNC_EVENTS_MAGENTO_URL: standin.url, ASYNC_EVENTS_MAGENTO_TOKEN: MAGENTO_TOKEN });
    expect(healthy.stdout).toMatch(/✔ Magento callback/);
    expect(healthy.code).toBe(0);
  });

  it('generate writes the bridge module, and a second run changes nothing', async () => {
    const out = path.join(dataDir, 'bridge');
    const first = await cli(['generate', '--out', out], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/written Model\/AsyncEventPublisher\.php/);
    expect(readdirSync(out)).toContain('registration.php');
    const second = await cli(['generate', '--out', out], env);
    expect(second.stdout).toMatch(/^0 written/m);
  });
});

describe('async-events search and replay against a delivery log', () => {
  let sidecar: TestSidecar;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let uuid: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    sidecar = await startSidecar({ mode: 'sqlite' });
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http' });
    await sidecar.app.publish('sales.order.created', { id: 12 }, 0);
    uuid = await waitFor('delivery', () => receiver.requests[0]?.headers['webhook-id'] as string | undefined);
    await waitFor('log row', async () => (await sidecar.app.store.log.attempts(uuid)).length > 0);
  });
  afterAll(async () => {
    await sidecar?.close();
    await receiver?.close();
  });

  it('search prints matches, --csv streams them as CSV', async () => {
    const text = await cli(['search', 'event_name: sales.* AND success: true'], sidecar.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(uuid);
    const csv = await cli(['search', 'event_name: sales.*', '--csv'], sidecar.env);
    const lines = csv.stdout.trim().split(/\r\n/);
    expect(lines[0]).toBe('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data,sink');
    expect(lines.some((l) => l.includes(uuid) && l.includes('sales.order.created'))).toBe(true);
  });

  it('search shows where a query is wrong (exit 1)', async () => {
    const result = await cli(['search', 'event_name:(sales.*'], sidecar.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\^/);
    expect(result.stderr).toMatch(/position/);
  });

  it('reindex rebuilds the Elasticsearch index with a progress bar (against a wire-compatible stand-in)', async () => {
    const elasticsearch = await startFakeElasticsearch();
    try {
      const result = await cli(['reindex'], { ...sidecar.env, ASYNC_EVENTS_ELASTICSEARCH: elasticsearch.url });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/\[#{30}\] 1\/1 log rows/);
      expect(result.stdout).toMatch(/reindexed 1 log rows/);
      const document = [...elasticsearch.documents.values()][0];
      expect(document?.index).toMatch(/^magento2_async_event_sales\.order\.created/);
      expect(document?.document).toMatchObject({ uuid, event_name: 'sales.order.created', success: true });
    } finally {
      await elasticsearch.close();
    }
  });

  it('replay starts a new chain under the same UUID, counted in the subscription health', async () => {
    const [chain] = await sidecar.app.store.log.attempts(uuid);
    const subscriptionId = chain?.subscriptionId ?? 0;
    await sidecar.app.health.settle();
    const before = (await sidecar.app.store.health.buckets([subscriptionId], new Date(Date.now() - 3_600_000))).get(subscriptionId) ?? [];
    const result = await cli(['replay', uuid], sidecar.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${uuid} delivered`);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([uuid]));
    expect(receiver.requests).toHaveLength(2);
    // The command wrote its attempt's figures before it exited.
    const after = (await sidecar.app.store.health.buckets([subscriptionId], new Date(Date.now() - 3_600_000))).get(subscriptionId) ?? [];
    expect(after.reduce((n, b) => n + b.succeeded, 0) - before.reduce((n, b) => n + b.succeeded, 0)).toBe(1);
  });

  it('parked lists the parked messages; parked redrive puts them back, where they are delivered or parked again', async () => {
    const { parked } = sidecar.app.store;
    const good = await parked.park({ queue: 'event.trigger', body: encodeTriggerMessage('sales.order.created', { id: 77 }, '1'), reason: 'Magento answered 503 Service Unavailable' });
    const bad = await parked.park({ queue: 'event.trigger', body: 'not json at all', reason: 'trigger message is not JSON at position 0' });
    const listed = await cli(['parked'], sidecar.env);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(lines.slice(0, 2).map(([id, queue, , reason]) => [id, queue, reason])).toEqual([
      [String(bad), 'event.trigger', 'trigger message is not JSON at position 0'],
      [String(good), 'event.trigger', 'Magento answered 503 Service Unavailable'],
    ]);
    expect(lines[0]?.[2]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(listed.stdout).toContain('2 of 2 parked message(s)');

    const usage = await cli(['parked', 'redrive'], sidecar.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--all/);
    const delivered = receiver.requests.length;
    // An id that is not parked is named and fails the command (exit 1); the others still go back.
    const one = await cli(['parked', 'redrive', String(good), '999999'], sidecar.env);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain(`${good} redriven`);
    expect(one.stderr).toContain('999999 not redriven: no parked message has this id');
    expect((await parked.get([good, bad])).map((p) => p.id)).toEqual([bad]);
    await waitFor('the redriven trigger delivered', () => receiver.requests.length > delivered);
    expect(JSON.parse(receiver.requests.at(-1)?.body ?? '{}')).toMatchObject({ type: 'sales.order.created', source: '1' });

    const all = await cli(['parked', 'redrive', '--all'], sidecar.env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`${bad} redriven`);
    // Still not JSON: the running consumer parks it again, under a new id, with its reason.
    const again = await waitFor('the bad message parked again', async () => (await parked.list(10)).find((p) => p.body === 'not json at all'));
    expect(again.id).toBeGreaterThan(bad);
    expect(again.reason).toMatch(/not JSON/);
  }, 120_000);
});
