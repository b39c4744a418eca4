import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The installed package's own folder (where package.json, schemas/, templates/ and examples/ are), found by walking
 * up from this module: the same code runs from src/ under tsx and from dist/src/ once compiled, at different depths.
 */

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
}

function findPackage(): { root: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
      if (pkg.name === 'async-events') return { root: dir, version: pkg.version ?? '0.0.0' };
    } catch {
      // no package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`async-events: no package.json named async-events above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const found = findPackage();

export const PACKAGE_ROOT: string = found.root;
export const PACKAGE_VERSION: string = found.version;

/** A file or folder shipped with the package, e.g. `packagePath('schemas', 'async_events.xsd')`. */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
