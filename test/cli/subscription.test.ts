import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbeddedCryptKey } from '../../src/store/crypt-key.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import { DEV_BIN, runCli, type CliResult } from '../support/cli.ts';
import { REPO_ROOT } from '../support/sidecar.ts';

/*
 * `async-events subscription …` as an operator runs it: real processes on an embedded SQLite store. Every rule is
 * the subscription service's; what is checked here is that the CLI hands the flags to it, names the flag of each
 * refusal, and never prints a verification token.
 */


const TOKEN = 'tok-7f3a9c1e5b2d-never-shown';
const ROTATED_TOKEN = 'tok-rotated-44e1b0c9-never-shown';

describe('async-events subscription', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let tokenFile: string;
  /** Everything any command printed, for the token check. */
  const printed: string[] = [];

  const cli = (args: string[]) => cliIn(args, {});

  async function cliIn(args: string[], extraEnv: Record<string, string>): Promise<CliResult> {
    const result = await runCli(args, { env: { ...env, ...extraEnv }, cwd: dataDir });
    printed.push(result.stdout, result.stderr);
    return result;
  }

  /** The command with `input` on stdin (for `--verification-token-file -`). */
  function cliWithStdin(args: string[], input: string): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [DEV_BIN, ...args], { env, cwd: dataDir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        printed.push(stdout, stderr);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  const createArgs = (extra: string[] = []) => ['subscription', 'create', '--event', 'sales.order.*', '--recipient', 'https://erp.example.com/hooks', '--verification-token-file', tokenFile, ...extra];

  async function listed(): Promise<{ subscription_id: number; [key: string]: unknown }[]> {
    const result = await cli(['subscription', 'list', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { subscription_id: number }[];
  }

  async function storedToken(id: number): Promise<string> {
    const db = new Database(path.join(dataDir, 'subscriptions.sqlite'), { readonly: true });
    try {
      const row = db.prepare('SELECT verification_token FROM async_event_subscriber WHERE subscription_id = ?').get(id) as { verification_token: string };
      const key = await readEmbeddedCryptKey(dataDir);
      return createEncryptor(key === undefined ? [] : [key]).decrypt(row.verification_token);
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ae-cli-subscription-'));
    tokenFile = path.join(dataDir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const clean: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ASYNC_EVENTS_')) clean[key] = value;
    env = {
      ...clean,
      ASYNC_EVENTS_MAGENTO_ROOT: path.join(REPO_ROOT, 'examples/magento'),
      ASYNC_EVENTS_DATA_DIR: dataDir,
      ASYNC_EVENTS_DB: `sqlite:${path.join(dataDir, 'subscriptions.sqlite')}`,
      ASYNC_EVENTS_AMQP: '',
      ASYNC_EVENTS_LOG_LEVEL: 'error',
    };
    const migrated = await cli(['migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  let id: number;

  it('creates a subscription with rules; list and show print them, show with its health', async () => {
    const created = await cli(createArgs(['--filter', 'data.status: processing', '--fields', 'entity_id,items[sku]', '--header', 'X-Api-Key: k-123', '--header', 'X-Tenant:  eu-1 ', '--max-per-second', '20', '--store-id', '1', '--json']));
    expect(created.code, created.stderr).toBe(0);
    const subscription = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(subscription).toMatchObject({
      event_name: 'sales.order.*',
      recipient_url: 'https://erp.example.com/hooks',
      status: true,
      store_id: 1,
      filter: 'data.status: processing',
      fields: 'entity_id,items[sku]',
      headers: { 'X-Api-Key': 'k-123', 'X-Tenant': 'eu-1' },
      max_per_second: 20,
    });
    id = subscription.subscription_id as number;
    // The token file's line end is not part of the token.
    expect(await storedToken(id)).toBe(TOKEN);

    const table = await cli(['subscription', 'list']);
    expect(table.code, table.stderr).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+EVENT\s+RECIPIENT\s+ACTIVE\s+STORE\s+RULES$/);
    expect(row).toMatch(new RegExp(`^${id}\\s+sales\\.order\\.\\*\\s+https://erp\\.example\\.com/hooks\\s+yes\\s+1\\s+`));
    expect(row).toContain('filter data.status: processing');
    expect(row).toContain('fields entity_id,items[sku]');
    expect(row).toContain('headers X-Api-Key,X-Tenant');
    expect(row).toContain('20/s');

    const shown = await cli(['subscription', 'show', String(id)]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('filter: data.status: processing');
    expect(shown.stdout).toContain('fields: entity_id,items[sku]');
    expect(shown.stdout).toMatch(/headers:\n\s+X-Api-Key: k-123\n\s+X-Tenant: eu-1/);
    expect(shown.stdout).toContain('max_per_second: 20');
    expect(shown.stdout).toMatch(/health:\n\s+subscription_id: \d+\n\s+status: idle/);

    const json = await cli(['subscription', 'show', String(id), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const withHealth = JSON.parse(json.stdout) as { health: Record<string, unknown> } & Record<string, unknown>;
    expect(withHealth).toMatchObject({ subscription_id: id, max_per_second: 20, headers: { 'X-Api-Key': 'k-123' } });
    expect(withHealth.health).toMatchObject({ subscription_id: id, status: 'idle', consecutive_failures: 0, in_flight: 0 });
  }, 60_000);

  it('creates an ordering subscription, starting the publish-order reader, and refuses to change its ordering', async () => {
    const created = await cli(createArgs(['--ordering', 'entity', '--json']));
    expect(created.code, created.stderr).toBe(0);
    const subscription = JSON.parse(created.stdout) as { subscription_id: number; ordering?: string };
    expect(subscription.ordering).toBe('entity');
    const db = new Database(path.join(dataDir, 'subscriptions.sqlite'), { readonly: true });
    try {
      // The database queue's cursor now exists: triggers from here on are read in publish order.
      expect(db.prepare("SELECT COUNT(*) AS n FROM async_event_publish_order WHERE name = 'event.trigger'").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
    const table = await cli(['subscription', 'list']);
    expect(table.stdout).toContain('ordered by entity');
    const changed = await cli(['subscription', 'update', String(subscription.subscription_id), '--ordering', 'none']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/--ordering: cannot change after the subscription is created/);
    const bad = await cli(createArgs(['--ordering', 'global']));
    expect(bad.code).toBe(2);
    await cli(['subscription', 'delete', String(subscription.subscription_id)]);
  });

  it('refuses a filter that does not parse under --filter, with its position, and writes nothing', async () => {
    const before = await listed();
    const refused = await cli(createArgs(['--filter', 'data.status: (processing']));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[VALIDATION_FAILED\]: --filter: .*position \d+/m);
    expect(await listed()).toEqual(before);
  }, 60_000);

  it('refuses a wildcard that matches no declared event under --event', async () => {
    const refused = await cli(['subscription', 'create', '--event', 'nothing.declared.*', '--recipient', 'https://erp.example.com/hooks', '--verification-token-file', tokenFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[EVENT_UNKNOWN\]: --event: the pattern "nothing\.declared\.\*" matches no async event/m);
  }, 60_000);

  it('refuses a reserved header under --header, naming it; every problem of a request is printed', async () => {
    const refused = await cli(createArgs(['--header', 'Content-Type: text/plain', '--fields', 'items[sku']));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[VALIDATION_FAILED\]: --header: .*"Content-Type" is set by the sidecar itself/m);
    expect(refused.stderr).toMatch(/^error \[VALIDATION_FAILED\]: --fields: /m);
    // The field schema comes before the rules: a rate out of range is refused under its flag on its own.
    const rate = await cli(createArgs(['--max-per-second', '0']));
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/^error \[VALIDATION_FAILED\]: --max-per-second: must be a positive number/m);
  }, 60_000);

  it('update changes the one field given and keeps the rest', async () => {
    const [before] = (await listed()).filter((s) => s.subscription_id === id);
    const updated = await cli(['subscription', 'update', String(id), '--max-per-second', '2.5', '--json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toEqual({ ...before, max_per_second: 2.5 });

    const removed = await cli(['subscription', 'update', String(id), '--no-filter', '--no-headers', '--inactive', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    const after = JSON.parse(removed.stdout) as Record<string, unknown>;
    expect(after).not.toHaveProperty('filter');
    expect(after).not.toHaveProperty('headers');
    expect(after).toMatchObject({ status: false, fields: 'entity_id,items[sku]', max_per_second: 2.5 });
  }, 60_000);

  it('update refuses a change the service refuses, under its flag, and an update of nothing as a usage error', async () => {
    const moved = await cli(['subscription', 'update', String(id), '--event', 'customer.created']);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/^error \[VALIDATION_FAILED\]: --event: cannot change from "sales\.order\.\*"/m);
    const nothing = await cli(['subscription', 'update', String(id)]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');
  }, 60_000);

  it('rejects non-numbers under their flag name with exit 2', async () => {
    const rate = await cli(createArgs(['--max-per-second', 'fast']));
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/option '--max-per-second <n>' argument 'fast' is invalid/);
    const store = await cli(createArgs(['--store-id', 'one']));
    expect(store.code).toBe(2);
    expect(store.stderr).toMatch(/option '--store-id <n>' argument 'one' is invalid/);
    const badId = await cli(['subscription', 'show', 'first']);
    expect(badId.code).toBe(2);
    const header = await cli(createArgs(['--header', 'no colon here']));
    expect(header.code).toBe(2);
    expect(header.stderr).toMatch(/option '--header <line>' argument 'no colon here' is invalid/);
  }, 60_000);

  it('delete removes the subscription; deleting or showing it again says it does not exist', async () => {
    const extra = await cli(createArgs(['--json']));
    expect(extra.code, extra.stderr).toBe(0);
    const extraId = (JSON.parse(extra.stdout) as { subscription_id: number }).subscription_id;
    const deleted = await cli(['subscription', 'delete', String(extraId)]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`subscription ${extraId} deleted`);
    expect((await listed()).map((s) => s.subscription_id)).not.toContain(extraId);
    for (const args of [['subscription', 'delete', String(extraId)], ['subscription', 'show', String(extraId)]]) {
      const again = await cli(args);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`error [SUBSCRIPTION_NOT_FOUND]: Subscription ${extraId} does not exist`);
    }
  }, 60_000);

  it('never creates a database: on a data dir without one, a clear error and no folder', async () => {
    const missing = path.join(dataDir, 'missing', 'data');
    for (const args of [['subscription', 'list'], createArgs()]) {
      const result = await cliIn(args, { ASYNC_EVENTS_DATA_DIR: missing, ASYNC_EVENTS_DB: `sqlite:${path.join(missing, 'none.sqlite')}` });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no database at ${path.join(missing, 'none.sqlite')}`);
    }
    expect(existsSync(path.join(dataDir, 'missing'))).toBe(false);
  }, 60_000);

  it('never prints a verification token, whatever the command and however it ends', async () => {
    // A token from stdin, rotated with update: the store holds it, no output shows it.
    const rotated = await cliWithStdin(['subscription', 'update', String(id), '--verification-token-file', '-'], `${ROTATED_TOKEN}\n`);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(await storedToken(id)).toBe(ROTATED_TOKEN);
    // A token the service refuses (too long) is not echoed in the refusal.
    const longTokenFile = path.join(dataDir, 'long-token');
    const longToken = `${TOKEN}-${'x'.repeat(200)}`;
    writeFileSync(longTokenFile, longToken);
    const refused = await cli(['subscription', 'create', '--event', 'sales.order.created', '--recipient', 'https://erp.example.com/hooks', '--verification-token-file', longTokenFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--verification-token-file: is too long/);
    for (const args of [['list'], ['list', '--json'], ['show', String(id)], ['show', String(id), '--json']]) await cli(['subscription', ...args]);
    await cli(createArgs());
    await cli(createArgs(['--json']));

    // Every command of this file ran (the earlier tests printed through the same helper).
    expect(printed.join('').length).toBeGreaterThan(2000);
    for (const secret of [TOKEN, ROTATED_TOKEN, 'tok-7f3a9c1e5b2d', 'tok-rotated-44e1b0c9']) {
      expect(printed.filter((text) => text.includes(secret))).toEqual([]);
    }
  }, 120_000);
});
