import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { lineOf, type ConfigFileError } from './config-error.ts';
import type { MagentoInstall } from './magento-root.ts';

/**
 * Module discovery: the enabled modules of a Magento root, found where Magento registers them
 * (`app/code/<Vendor>/<Module>` through registration.php, `vendor/<vendor>/<package>` through composer), in the
 * order Magento merges their configuration.
 */

export interface MagentoModule {
  /** `Vendor_Module`, from etc/module.xml. */
  readonly name: string;
  /** Absolute module directory. */
  readonly dir: string;
  /** Module directory relative to the Magento root, `/`-separated. */
  readonly relativeDir: string;
  /** Names in `<sequence>`: modules that load before this one. */
  readonly sequence: readonly string[];
}

export interface ModuleDiscovery {
  /** Enabled modules found on disk, in merge order. */
  readonly modules: readonly MagentoModule[];
  /** Enabled in config.php but found nowhere under app/code or vendor. */
  readonly missing: readonly string[];
  readonly errors: readonly ConfigFileError[];
}

interface Candidate {
  readonly dir: string;
  readonly requiresRegistration: boolean;
}

async function exists(file: string, kind: 'file' | 'dir'): Promise<boolean> {
  try {
    const info = await stat(file);
    return kind === 'file' ? info.isFile() : info.isDirectory();
  } catch {
    return false;
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

async function appCodeCandidates(root: string): Promise<Candidate[]> {
  const base = path.join(root, 'app/code');
  const found: Candidate[] = [];
  for (const vendor of await subdirectories(base)) {
    for (const module of await subdirectories(path.join(base, vendor))) {
      found.push({ dir: path.join(base, vendor, module), requiresRegistration: true });
    }
  }
  return found;
}

/** Composer packages of type magento2-module; one package may register several modules through autoload files. */
async function vendorCandidates(root: string, errors: ConfigFileError[]): Promise<Candidate[]> {
  const base = path.join(root, 'vendor');
  const found: Candidate[] = [];
  for (const vendor of await subdirectories(base)) {
    for (const pkg of await subdirectories(path.join(base, vendor))) {
      const packageDir = path.join(base, vendor, pkg);
      const composerFile = path.join(packageDir, 'composer.json');
      if (!(await exists(composerFile, 'file'))) continue;
      let composer: { type?: unknown; autoload?: { files?: unknown } };
      try {
        composer = JSON.parse(await readFile(composerFile, 'utf8')) as typeof composer;
      } catch (thrown) {
        errors.push({ file: path.relative(root, composerFile).split(path.sep).join('/'), line: 1, message: `composer.json is not valid JSON: ${(thrown as Error).message}` });
        continue;
      }
      if (composer.type !== 'magento2-module') continue;
      const files = Array.isArray(composer.autoload?.files) ? composer.autoload.files : [];
      const registrations = files.filter((file): file is string => typeof file === 'string' && /(^|\/)registration\.php$/.test(file));
      if (registrations.length === 0) found.push({ dir: packageDir, requiresRegistration: false });
      for (const registration of registrations) {
        found.push({ dir: path.dirname(path.join(packageDir, registration)), requiresRegistration: false });
      }
    }
  }
  return found;
}

const moduleXmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => name === 'module',
});

interface ModuleXmlNode {
  readonly '@name'?: string;
  readonly sequence?: { readonly module?: readonly { readonly '@name'?: string }[] } | string;
}

/** Name and sequence from etc/module.xml, or an error located in the file. */
function parseModuleXml(text: string, file: string): { name: string; sequence: string[] } | ConfigFileError {
  const wellFormed = XMLValidator.validate(text);
  if (wellFormed !== true) {
    return { file, line: wellFormed.err.line, column: wellFormed.err.col, message: `malformed XML: ${wellFormed.err.msg}` };
  }
  const parsed = moduleXmlParser.parse(text) as { config?: { module?: readonly ModuleXmlNode[] } };
  const module = parsed.config?.module?.[0];
  const name = module?.['@name'];
  if (!module || typeof name !== 'string' || name === '') {
    return { file, line: lineOf(text, '<module') ?? 1, message: 'etc/module.xml has no <config><module name="Vendor_Module"> element' };
  }
  const sequence = typeof module.sequence === 'object' ? (module.sequence.module ?? []) : [];
  return { name, sequence: sequence.map((entry) => entry['@name']).filter((entry): entry is string => typeof entry === 'string' && entry !== '') };
}

/**
 * Magento's ModuleList\Loader::expandSequence: every module that must come before `name`, transitively.
 * Throws on a cycle with Magento's wording.
 */
function expandSequence(
  sequences: ReadonlyMap<string, readonly string[]>,
  name: string,
  cache: Map<string, Set<string>>,
  visiting: ReadonlySet<string> = new Set(),
  parent = '',
): Set<string> {
  if (visiting.has(name)) throw new CircularSequenceError(parent, name);
  const cached = cache.get(name);
  if (cached) return cached;
  const nextVisiting = new Set(visiting).add(name);
  const all = new Set<string>();
  for (const related of sequences.get(name) ?? []) {
    for (const transitive of expandSequence(sequences, related, cache, nextVisiting, name)) all.add(transitive);
    all.add(related);
  }
  cache.set(name, all);
  return all;
}

class CircularSequenceError extends Error {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`Circular sequence reference from '${from}' to '${to}'.`);
  }
}

/**
 * Orders modules the way Magento's ModuleList\Loader::sortBySequence does (its pairwise "bubble" pass over the
 * transitive sequences), starting from config.php order instead of Magento's alphabetical pre-sort: config.php
 * is what `setup:upgrade` wrote from that sort, so for a consistent install the result equals config.php order,
 * and a hand-edited config.php that contradicts a `<sequence>` is corrected the way setup:upgrade would.
 */
export function sortBySequence<T extends { readonly name: string; readonly sequence: readonly string[] }>(modules: readonly T[]): T[] {
  const sequences = new Map(modules.map((module) => [module.name, module.sequence]));
  const cache = new Map<string, Set<string>>();
  const expanded = modules.map((module) => ({ module, before: expandSequence(sequences, module.name, cache) }));
  for (let i = 0; i < expanded.length - 1; i += 1) {
    for (let j = i; j < expanded.length; j += 1) {
      const left = expanded[i];
      const right = expanded[j];
      if (left && right && left.before.has(right.module.name)) {
        expanded[i] = right;
        expanded[j] = left;
      }
    }
  }
  return expanded.map((entry) => entry.module);
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Enabled modules of the install, in Magento's merge order; disabled and unlisted modules are left out. */
export async function discoverModules(install: Pick<MagentoInstall, 'root' | 'modules'>): Promise<ModuleDiscovery> {
  const { root } = install;
  const errors: ConfigFileError[] = [];
  const candidates = [...(await appCodeCandidates(root)), ...(await vendorCandidates(root, errors))];
  const byName = new Map<string, MagentoModule & { readonly xmlText: string; readonly xmlFile: string }>();
  for (const candidate of candidates) {
    const xmlPath = path.join(candidate.dir, 'etc/module.xml');
    if (!(await exists(xmlPath, 'file'))) continue;
    if (candidate.requiresRegistration && !(await exists(path.join(candidate.dir, 'registration.php'), 'file'))) continue;
    const xmlFile = relative(root, xmlPath);
    let text: string;
    try {
      text = await readFile(xmlPath, 'utf8');
    } catch (thrown) {
      errors.push({ file: xmlFile, line: 1, message: `cannot read: ${(thrown as Error).message}` });
      continue;
    }
    const parsed = parseModuleXml(text, xmlFile);
    if ('message' in parsed) {
      errors.push(parsed);
      continue;
    }
    // Only modules config.php enables take part; skip the others before they can collide or fail.
    if (install.modules.get(parsed.name) !== true) continue;
    const previous = byName.get(parsed.name);
    if (previous) {
      errors.push({
        file: xmlFile,
        line: lineOf(text, '<module') ?? 1,
        message: `module ${parsed.name} is already defined in ${previous.relativeDir}; Magento refuses two copies of one module`,
      });
      continue;
    }
    byName.set(parsed.name, { name: parsed.name, dir: candidate.dir, relativeDir: relative(root, candidate.dir), sequence: parsed.sequence, xmlText: text, xmlFile });
  }

  const inConfigOrder: (MagentoModule & { readonly xmlText: string; readonly xmlFile: string })[] = [];
  const missing: string[] = [];
  for (const [name, enabled] of install.modules) {
    if (!enabled) continue;
    const module = byName.get(name);
    if (module) inConfigOrder.push(module);
    else missing.push(name);
  }

  let ordered = inConfigOrder;
  try {
    ordered = sortBySequence(inConfigOrder);
  } catch (thrown) {
    if (!(thrown instanceof CircularSequenceError)) throw thrown;
    const culprit = byName.get(thrown.from);
    errors.push({
      file: culprit?.xmlFile ?? 'app/etc/config.php',
      line: (culprit && lineOf(culprit.xmlText, `name="${thrown.to}"`)) ?? 1,
      message: `${thrown.message} Modules are kept in app/etc/config.php order.`,
    });
  }
  return {
    modules: ordered.map(({ name, dir, relativeDir, sequence }) => ({ name, dir, relativeDir, sequence })),
    missing,
    errors,
  };
}
