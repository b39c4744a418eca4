import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/services.ts';
import { phpStringLiteral } from '../../src/bridge/render.ts';
import { HARNESS, generateSample, removeDir } from './support.ts';

const run = promisify(execFile);

async function phpFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.php')).map((entry) => path.join(entry.parentPath, entry.name)).sort();
}

async function runObserver(args: string[]): Promise<{ published: Array<{ topic: string; body: string }> }> {
  const { stdout } = await run('php', [path.join(HARNESS, 'run-observer.php'), ...args]);
  return JSON.parse(stdout) as { published: Array<{ topic: string; body: string }> };
}

describeWith(['php'], 'generated PHP with real php', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await generateSample();
  });
  afterAll(async () => removeDir(outDir));

  it('every generated and harness .php file passes php -l', async () => {
    const files = [...(await phpFiles(outDir)), ...(await phpFiles(path.resolve(HARNESS, '..')))];
    expect(files.length).toBeGreaterThanOrEqual(4 + 14);
    for (const file of files) {
      const { stdout } = await run('php', ['-l', file]);
      expect(stdout, file).toContain('No syntax errors detected');
    }
  });

  it('the generated interface and model load together (signatures compatible) and publish the upstream message', async () => {
    const result = await runObserver(['--module', outDir, '--mode', 'memory', '--event', 'sales.order.created', '--data', '{"id":42,"path":"a/b","name":"Zoë"}', '--store-id', '3']);
    expect(result.published).toHaveLength(1);
    expect(result.published[0]?.topic).toBe('event.trigger');
    const body = result.published[0]?.body ?? '';
    // PHP json_encode defaults, nested: "/" escaped as "\/", non-ASCII as \uXXXX.
    expect(body).toBe(String.raw`["sales.order.created","{\"id\":42,\"path\":\"a\\\/b\",\"name\":\"Zo\\u00eb\"}","3"]`);
    expect(JSON.parse(body)).toEqual(['sales.order.created', '{"id":42,"path":"a\\/b","name":"Zo\\u00eb"}', '3']);
  });

  it('defaults the store id to "0" and keeps string store ids', async () => {
    const withoutStore = await runObserver(['--module', outDir, '--mode', 'memory', '--event', 'customer.created', '--data', '{"customerId":7}']);
    expect(JSON.parse(withoutStore.published[0]?.body ?? '')).toEqual(['customer.created', '{"customerId":7}', '0']);
    const stringStore = await runObserver(['--module', outDir, '--mode', 'memory', '--event', 'customer.created', '--data', '{"customerId":7}', '--store-id', 'default']);
    expect(JSON.parse(stringStore.published[0]?.body ?? '')).toEqual(['customer.created', '{"customerId":7}', 'default']);
  });

  it("the observer from upstream's README works unchanged", async () => {
    const result = await runObserver(['--module', outDir, '--mode', 'memory', '--observer', 'sales-order', '--event', 'ignored', '--data', '{"id":"000000123"}']);
    expect(JSON.parse(result.published[0]?.body ?? '')).toEqual(['sales.order.created', '{"id":"000000123"}', '0']);
  });

  it('phpStringLiteral round-trips through php', async () => {
    const value = "it's a \\path\\ with $var and {$x} and \\' and é";
    const { stdout } = await run('php', ['-r', `echo ${phpStringLiteral(value)};`]);
    expect(stdout).toBe(value);
  });

  it('fails clearly when the module was not generated', async () => {
    await expect(run('php', [path.join(HARNESS, 'run-observer.php'), '--module', path.join(outDir, 'nope'), '--mode', 'memory', '--event', 'a'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('has no Model/AsyncEventPublisher.php'),
    });
  });
});
