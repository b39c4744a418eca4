import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test helpers that write small Magento roots into a temp directory. */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLE_ROOT = path.join(REPO_ROOT, 'examples/magento');
export const FIXTURES = path.resolve(REPO_ROOT, '../shared/fixtures');

export interface TempRoot {
  readonly root: string;
  write(relative: string, contents: string): Promise<void>;
  /** A module under app/code (or vendor when `vendorPackage` is given) with registration.php and module.xml. */
  module(name: string, options?: { sequence?: string[]; asyncEvents?: string; vendorPackage?: string }): Promise<string>;
  config(modules: Record<string, 0 | 1>, extra?: string): Promise<void>;
  remove(): Promise<void>;
}

export async function makeTempRoot(): Promise<TempRoot> {
  const root = await mkdtemp(path.join(tmpdir(), 'ae-magento-'));
  const write = async (relative: string, contents: string): Promise<void> => {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, contents);
  };
  return {
    root,
    write,
    async module(name, options = {}) {
      const [vendor = '', module = ''] = name.split('_');
      const dir = options.vendorPackage ? `vendor/${options.vendorPackage}` : `app/code/${vendor}/${module}`;
      const sequence = (options.sequence ?? []).map((entry) => `<module name="${entry}"/>`).join('');
      await write(`${dir}/registration.php`, `<?php\n\\Magento\\Framework\\Component\\ComponentRegistrar::register(\\Magento\\Framework\\Component\\ComponentRegistrar::MODULE, '${name}', __DIR__);\n`);
      await write(`${dir}/etc/module.xml`, `<?xml version="1.0"?>\n<config>\n    <module name="${name}">\n        <sequence>${sequence}</sequence>\n    </module>\n</config>\n`);
      if (options.vendorPackage) {
        await write(`${dir}/composer.json`, JSON.stringify({ name: options.vendorPackage, type: 'magento2-module', autoload: { files: ['registration.php'] } }));
      }
      if (options.asyncEvents !== undefined) await write(`${dir}/etc/async_events.xml`, options.asyncEvents);
      return dir;
    },
    async config(modules, extra = '') {
      const lines = Object.entries(modules).map(([name, flag]) => `        '${name}' => ${flag},`);
      await write('app/etc/config.php', `<?php\nreturn [\n    'modules' => [\n${lines.join('\n')}\n    ],\n${extra}];\n`);
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** An async_events.xml with the given events (name → [class, method]). */
export function asyncEventsXml(events: Record<string, [string, string]>, urn = 'MageOS_AsyncEvents'): string {
  const body = Object.entries(events)
    .map(([name, [cls, method]]) => `    <async_event name="${name}">\n        <service class="${cls}" method="${method}"/>\n    </async_event>`)
    .join('\n');
  return `<?xml version="1.0"?>\n<config xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="urn:magento:module:${urn}:etc/async_events.xsd">\n${body}\n</config>\n`;
}
