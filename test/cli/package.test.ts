import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/sidecar.ts';

/*
 * The packed tarball, installed into an empty folder with production dependencies only, runs: the compiled build,
 * the bin, and the files the code reads at run time (schemas, the example Magento root) are all in it. Install
 * scripts are skipped (the native SQLite build would take a minute), which these commands do not need.
 */

const run = promisify(execFile);
const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };

describe('the npm package', () => {
  let scratch: string;
  let bin: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'ae-pack-'));
    if (!existsSync(path.join(REPO_ROOT, 'dist/src/bin.js'))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch], { cwd: REPO_ROOT });
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    const app = path.join(scratch, 'app');
    await run('mkdir', [app]);
    writeFileSync(path.join(app, 'package.json'), '{"name":"try-async-events","private":true}\n');
    await run('npm', ['install', '--omit=dev', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(scratch, tarball)], { cwd: app, timeout: 240_000 });
    bin = path.join(app, 'node_modules/.bin/async-events');
  }, 300_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs without dev dependencies: no tsx, no TypeScript', () => {
    const modules = path.join(scratch, 'app/node_modules');
    expect(existsSync(path.join(modules, 'async-events/dist/src/cli.js'))).toBe(true);
    expect(existsSync(path.join(modules, 'tsx'))).toBe(false);
    expect(existsSync(path.join(modules, 'typescript'))).toBe(false);
    expect(existsSync(path.join(modules, 'async-events/src/cli.ts'))).toBe(false);
  });

  it('prints its help and version from the installed bin', async () => {
    const help = await run(bin, ['--help'], { cwd: scratch });
    expect(help.stdout).toMatch(/Usage: async-events/);
    expect(help.stdout).toMatch(/publish/);
    const version = await run(bin, ['--version'], { cwd: scratch });
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('validates the example Magento root shipped in the package (schemas and examples are found from dist)', async () => {
    const result = await run(bin, ['validate'], { cwd: scratch });
    expect(result.stdout).toMatch(/Valid: 6 events from 2 files/);
  });
});
