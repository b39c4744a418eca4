import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * CLI start-up: the median wall time of `async-events --help` and of `async-events publish …` from the compiled
 * bin (dist/, as users run it), against `node -e 0` measured in the same rounds, interleaved so that a busy moment
 * of the machine weighs on all three alike. `publish` runs against the embedded defaults (SQLite file and database
 * queue in a temporary data dir, migrated once beforehand, as an installed sidecar has it). Goals: --help ≤ 5×,
 * publish ≤ 10× of `node -e 0`. Needs no service, so `BENCH_PARTS=cli` runs it alone.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/async-events.js');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 15);

interface Command {
  readonly label: string;
  readonly args: readonly string[];
  readonly goal?: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export async function runCliStartupBench(): Promise<string[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ae-bench-cli-'));
  // Only the embedded defaults: none of the caller's ASYNC_EVENTS_* settings, and no .env (cwd is the data dir).
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ASYNC_EVENTS_') && key !== 'NODE_OPTIONS'));
  Object.assign(env, { ASYNC_EVENTS_DATA_DIR: dataDir, ASYNC_EVENTS_AMQP: '' });
  const run = (args: readonly string[], nodeFlags: readonly string[] = []) => {
    const started = performance.now();
    const result = spawnSync(process.execPath, [...nodeFlags, ...args], { cwd: dataDir, env, encoding: 'utf8' });
    const ms = performance.now() - started;
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    return { ms, stderr: result.stderr };
  };
  try {
    run([BIN, 'migrate']);
    const commands: Command[] = [
      { label: 'node -e 0', args: ['-e', '0'] },
      { label: '--help', args: [BIN, '--help'], goal: 5 },
      { label: 'publish', args: [BIN, 'publish', 'sales.order.created', '{"id":42}', '--store-id', '1'], goal: 10 },
    ];
    const samples = new Map<string, number[]>(commands.map((c) => [c.label, []]));
    for (const command of commands) run(command.args); // warm the file cache; not counted
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, and in a different order each round, so no command always follows the same one.
      const order = commands.map((_, i) => commands[(i + round) % commands.length] as Command);
      for (const command of order) samples.get(command.label)?.push(run(command.args).ms);
    }
    // Peak RSS of one more run each, read by a preload at exit (kept out of the timed runs).
    const probe = path.join(dataDir, 'maxrss.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`\\nmaxrss=${process.resourceUsage().maxRSS}\\n`));\n");
    const rssMb = (command: Command) => Number(/maxrss=(\d+)/.exec(run(command.args, ['--require', probe]).stderr)?.[1] ?? NaN) / 1024;

    const base = median(samples.get('node -e 0') ?? []);
    const parts = commands.map((command) => {
      const ms = median(samples.get(command.label) ?? []);
      const rss = rssMb(command);
      if (command.goal === undefined) return `${command.label} ${ms.toFixed(0)} ms (${rss.toFixed(0)} MB)`;
      return `${command.label} ${ms.toFixed(0)} ms = ${(ms / base).toFixed(1)}× (goal ≤ ${command.goal}×, ${rss.toFixed(0)} MB peak RSS)`;
    });
    return [`CLI start-up (compiled dist/, median of ${ROUNDS} interleaved rounds, embedded defaults): ${parts.join('; ')}`];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
