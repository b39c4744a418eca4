import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { freePort } from '../support/services.ts';
import { MAGENTO_TOKEN, REPO_ROOT, startReceiver, waitFor } from '../support/sidecar.ts';

/*
 * Secrets never leave in output: `async-events start` as a real process with a generated API token and crypt key,
 * a full delivery run in which one recipient keeps failing (so retries, error responses and debug logs happen),
 * then every API answer. Each secret the run used is searched for in all of it.
 */

const BIN = path.join(REPO_ROOT, 'bin/async-events.js');
const FAILING_TOKEN = 'vt-failing-recipient-5b1d9e77c2';
const GOOD_TOKEN = 'vt-good-recipient-0c3f88a1d4';

describe('secrets stay out of output', () => {
  let standin: MagentoStandin;
  let failing: Awaited<ReturnType<typeof startReceiver>>;
  let good: Awaited<ReturnType<typeof startReceiver>>;
  let child: ChildProcess;
  let dataDir: string;
  let base: string;
  let output = '';
  const bodies: string[] = [];

  beforeAll(async () => {
    standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
    failing = await startReceiver(() => ({ status: 500, body: '{"error":"receiver is down"}' }));
    good = await startReceiver();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ae-secrets-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: dataDir,
      ASYNC_EVENTS_MAGENTO_ROOT: path.join(REPO_ROOT, 'examples/magento'),
      ASYNC_EVENTS_MAGENTO_URL: standin.url,
      ASYNC_EVENTS_MAGENTO_TOKEN: MAGENTO_TOKEN,
      ASYNC_EVENTS_ALLOWED_TARGETS: '127.0.0.1/32',
      ASYNC_EVENTS_DATA_DIR: dataDir,
      ASYNC_EVENTS_AMQP: '',
      ASYNC_EVENTS_PORT: String(port),
      ASYNC_EVENTS_LOG_LEVEL: 'debug',
      ASYNC_EVENTS_LOG_FORMAT: 'json',
    };
    child = spawn(process.execPath, [BIN, 'start'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitFor('the sidecar to answer', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, 60_000, 100);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await failing?.close();
    await good?.close();
    await standin?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('never shows the API token, verification tokens, integration token or crypt key', async () => {
    const tokenFile = path.join(dataDir, 'api-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const apiToken = (await readFile(tokenFile, 'utf8')).trim();
    const cryptKey = (await readFile(path.join(dataDir, 'crypt.key'), 'utf8')).trim();
    expect(apiToken.length).toBeGreaterThan(16);
    const auth = { authorization: `Bearer ${apiToken}` };
    const call = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      bodies.push(`${method} ${url} → ${response.status} ${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`);
      return { status: response.status, text };
    };

    // A full delivery run: one recipient that keeps failing (500) and one that takes it.
    for (const [url, token] of [[failing.url, FAILING_TOKEN], [good.url, GOOD_TOKEN]] as const) {
      const created = await call('POST', '/rest/V1/async_event', { asyncEvent: { event_name: 'sales.order.created', recipient_url: url, verification_token: token, metadata: 'http' } });
      expect(created.status).toBe(200);
    }
    expect((await call('POST', '/rest/V1/async_events/publish', { event_name: 'sales.order.created', arguments: { id: 77 }, store_id: 0 })).status).toBeLessThan(300);
    await waitFor('a delivery and a retried failure', () => good.requests.length >= 1 && failing.requests.length >= 2, 30_000, 50);
    const uuids = [...new Set([...good.requests, ...failing.requests].map((r) => String(r.headers['webhook-id'])))];

    // Every answer the API gives about that run, REST and GraphQL, as well as refusals.
    const reads = [
      '/rest/V1/async_events?searchCriteria=',
      '/rest/V1/async_event/1',
      '/rest/V1/async_event/2',
      '/rest/V1/async_events/logs?query=',
      '/rest/V1/async_events/search.csv?query=',
      '/rest/V1/async_events/parked',
      '/rest/V1/async_events/overview',
      '/rest/V1/async_events/sinks?all=1',
      ...uuids.map((uuid) => `/rest/V1/async_events/logs/${uuid}`),
      '/openapi.json',
      '/metrics',
      '/readyz',
      '/healthz',
      '/',
    ];
    for (const url of reads) expect((await call('GET', url)).status, url).toBeLessThan(500);
    await call('PUT', '/rest/V1/async_event/1', { asyncEvent: { verification_token: `${FAILING_TOKEN}-rotated` } });
    // Deliveries after the rotation sign with both tokens (the old one read back from its encrypted row).
    const beforeRotation = failing.requests.length;
    expect((await call('POST', '/rest/V1/async_events/publish', { event_name: 'sales.order.created', arguments: { id: 78 }, store_id: 0 })).status).toBeLessThan(300);
    const coSigned = await waitFor('a delivery signed with the old and the new token', () => failing.requests.slice(beforeRotation).find((r) => r.headers['x-magento-signature-previous'] !== undefined), 30_000, 50);
    expect(String(coSigned.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const url of ['/rest/V1/async_event/1', '/rest/V1/async_events?searchCriteria=']) expect((await call('GET', url)).status).toBe(200);
    await call('POST', '/rest/V1/async_event', { asyncEvent: { event_name: 'no.such.event', recipient_url: good.url, verification_token: GOOD_TOKEN, metadata: 'http' } });
    const graphql = `{ subscriptions { nodes { id eventName recipientUrl sink } } deliveries(query: "") { nodes { uuid responseData } }
      ${uuids.map((uuid, i) => `t${i}: trace(uuid: "${uuid}") { status payload attempts { responseData } subscription { recipientUrl } }`).join(' ')} health { name detail } }`;
    expect((await call('POST', '/graphql', { query: graphql })).text).toContain('"data"');
    const unauthenticated = await fetch(`${base}/rest/V1/async_event/1`, { headers: { authorization: `Bearer ${apiToken.slice(0, -2)}xx` } });
    bodies.push(await unauthenticated.text());

    const everything = `${output}\n${bodies.join('\n')}`;
    expect(output).toContain(tokenFile);
    for (const [name, secret] of Object.entries({ apiToken, cryptKey, FAILING_TOKEN, GOOD_TOKEN, MAGENTO_TOKEN, rotated: `${FAILING_TOKEN}-rotated` })) {
      expect(everything.includes(secret), `${name} appears in the output or a response`).toBe(false);
    }
    // The run was real: the log holds debug lines and the failing recipient's error.
    expect(output).toMatch(/"level":20/);
    expect(everything).toContain('receiver is down');
    expect(output).toContain('verification token replaced');
  });
});
