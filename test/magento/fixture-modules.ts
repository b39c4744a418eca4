import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModuleDir } from '../../src/magento/webapi-routes.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The real Magento fixture root, read in place; its modules are app/code/Magento/*. */
export const magentoRoot = path.resolve(repoRoot, '../shared/fixtures/magento');

export async function fixtureModules(): Promise<ModuleDir[]> {
  const vendorDir = path.join(magentoRoot, 'app/code/Magento');
  const names = (await readdir(vendorDir)).sort();
  return names.map((name) => ({ name: `Magento_${name}`, dir: path.join(vendorDir, name) }));
}
