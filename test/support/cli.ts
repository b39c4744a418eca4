import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './sidecar.ts';

/* The `async-events` command as a real process (the development bin, which runs the TypeScript sources). */

export const DEV_BIN = path.join(REPO_ROOT, 'bin/async-events-dev.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs the command to its end; a non-zero exit is a result, not a throw. */
export async function runCli(args: readonly string[], options: { readonly env: NodeJS.ProcessEnv; readonly cwd: string }): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [DEV_BIN, ...args], { env: options.env, cwd: options.cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
