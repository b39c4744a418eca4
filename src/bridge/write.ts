import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface WriteResult {
  readonly written: string[];
  readonly unchanged: string[];
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes each file whose content differs from what is on disk, so regenerating an unchanged module touches nothing
 * (no mtime churn for deploy tools or `setup:upgrade` checks). Each write goes through a temporary file and a
 * rename, so an interrupted run never leaves half a file behind.
 */
export async function writeChangedFiles(outDir: string, files: ReadonlyMap<string, string>): Promise<WriteResult> {
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const relative of [...files.keys()].sort()) {
    const content = files.get(relative) ?? '';
    const target = path.join(outDir, ...relative.split('/'));
    if ((await readIfExists(target)) === content) {
      unchanged.push(relative);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, target);
    written.push(relative);
  }
  return { written, unchanged };
}
