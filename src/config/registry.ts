import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { Logger } from '../logger.ts';
import type { EventDefinition, EventRegistry } from '../types.ts';
import { positionAt, type ConfigFileError } from './config-error.ts';
import type { MagentoInstall } from './magento-root.ts';
import { discoverModules, type MagentoModule } from './modules.ts';

/**
 * The event registry: every enabled module's `etc/async_events.xml`, each validated against our XSD, merged by
 * event name in module order the way Magento's config reader merges them (id attribute `name`): a later module's
 * `<service>` replaces an earlier one's, `<resources>` follow Magento's DOM merge rules (kept when the later
 * declaration has none). An invalid file contributes nothing and is reported with file:line:col.
 */

export interface RegistryFile {
  /** Relative to the Magento root. */
  readonly file: string;
  readonly module: string;
  /** Event names declared in this file (empty when the file is invalid). */
  readonly events: readonly string[];
}

export interface LoadedRegistry {
  readonly registry: EventRegistry;
  readonly files: readonly RegistryFile[];
  readonly modules: readonly MagentoModule[];
  /** Enabled in config.php but not found on disk. */
  readonly missing: readonly string[];
  readonly errors: readonly ConfigFileError[];
}

interface Declaration {
  readonly name: string;
  readonly serviceClass: string;
  readonly serviceMethod: string;
  /** undefined when the element has no `<resources>`; Magento's merge tells the two apart. */
  readonly resources: readonly string[] | undefined;
  readonly line: number;
  readonly column: number;
}

interface OrderedNode {
  readonly [tag: string]: unknown;
}

const parser = new XMLParser({
  preserveOrder: true,
  captureMetaData: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
});
const META = XMLParser.getMetaDataSymbol() as unknown as string;

function tagOf(node: OrderedNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@' && key !== '#text');
}

function childrenOf(node: OrderedNode, tag: string): OrderedNode[] {
  const children = node[tag];
  return Array.isArray(children) ? (children as OrderedNode[]) : [];
}

function attributesOf(node: OrderedNode): Record<string, string> {
  const attributes = node[':@'];
  return typeof attributes === 'object' && attributes !== null ? (attributes as Record<string, string>) : {};
}

function textOf(node: OrderedNode, tag: string): string {
  return childrenOf(node, tag)
    .map((child) => (typeof child['#text'] === 'string' || typeof child['#text'] === 'number' ? String(child['#text']) : ''))
    .join('');
}

/** Declarations of a schema-valid document, with the position of each `<async_event`. */
function readDeclarations(text: string, file: string): { declarations: Declaration[]; errors: ConfigFileError[] } {
  const declarations: Declaration[] = [];
  const errors: ConfigFileError[] = [];
  const document = parser.parse(text) as OrderedNode[];
  const config = document.find((node) => tagOf(node) === 'config');
  if (!config) return { declarations, errors };
  for (const node of childrenOf(config, 'config')) {
    if (tagOf(node) !== 'async_event') continue;
    const meta = (node as Record<string, unknown>)[META] as { startIndex?: number } | undefined;
    const { line, column } = positionAt(text, meta?.startIndex ?? 0);
    const name = attributesOf(node).name ?? '';
    let service: Record<string, string> = {};
    let resources: string[] | undefined;
    for (const child of childrenOf(node, 'async_event')) {
      const tag = tagOf(child);
      if (tag === 'service') service = attributesOf(child);
      if (tag === 'resources') {
        resources = childrenOf(child, 'resources')
          .filter((resource) => tagOf(resource) === 'resource')
          .map((resource) => textOf(resource, 'resource').trim());
      }
    }
    const serviceClass = service.class ?? '';
    const serviceMethod = service.method ?? '';
    // The schema allows empty strings; upstream's converter refuses them when it loads the config.
    if (serviceClass.trim() === '' || serviceMethod.trim() === '') {
      errors.push({ file, line, column, message: `async_event '${name}': <service> needs a non-empty class and method` });
      continue;
    }
    declarations.push({ name, serviceClass, serviceMethod, resources, line, column });
  }
  return { declarations, errors };
}

interface MergedEntry {
  definition: EventDefinition;
  resources: readonly string[] | undefined;
}

/**
 * Magento's Config\Dom merge of `<resources>`: absent on either side keeps the other; otherwise each later
 * `<resource>` overwrites the single earlier one, and more than one earlier `<resource>` makes Magento fail.
 */
function mergeResources(earlier: readonly string[] | undefined, later: readonly string[] | undefined): readonly string[] | undefined | 'conflict' {
  if (later === undefined) return earlier;
  if (earlier === undefined) return later;
  const merged = [...earlier];
  for (const resource of later) {
    if (merged.length > 1) return 'conflict';
    if (resource !== '') merged[0] = resource;
  }
  return merged;
}

/** Anything at the path counts: a directory or unreadable file there is reported, not silently skipped. */
async function present(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * `schemaCheck: false` skips the XSD validation (an xmllint-wasm worker, the costliest part) for callers that only
 * look names up, such as `publish`; `validate`, `doctor` and `start` keep it.
 */
export async function loadEventRegistry(install: Pick<MagentoInstall, 'root' | 'modules'>, logger: Logger, options: { readonly schemaCheck?: boolean } = {}): Promise<LoadedRegistry> {
  const discovery = await discoverModules(install);
  const errors: ConfigFileError[] = [...discovery.errors];
  for (const name of discovery.missing) {
    logger.warn({ module: name }, `module ${name} is enabled in app/etc/config.php but was not found under app/code or vendor; its async_events.xml (if any) is not read`);
  }

  const found: { module: MagentoModule; file: string; text: string | undefined }[] = [];
  for (const module of discovery.modules) {
    const absolute = path.join(module.dir, 'etc/async_events.xml');
    if (!(await present(absolute))) continue;
    const file = path.relative(install.root, absolute).split(path.sep).join('/');
    try {
      found.push({ module, file, text: await readFile(absolute, 'utf8') });
    } catch (thrown) {
      errors.push({ file, line: 1, message: `cannot read: ${(thrown as Error).message}` });
      found.push({ module, file, text: undefined });
    }
  }

  const readableFiles = found.filter((entry): entry is typeof entry & { text: string } => entry.text !== undefined);
  const verdicts =
    options.schemaCheck === false
      ? readableFiles.map(({ file }) => ({ file, valid: true, errors: [] }))
      : // Imported here: xmllint-wasm is not loaded at all by callers that skip the check (`publish`).
        await (await import('./xsd.ts')).validateAsyncEventsXml(readableFiles.map(({ file, text }) => ({ file, text })));
  const verdictByFile = new Map(verdicts.map((verdict) => [verdict.file, verdict]));

  const merged = new Map<string, MergedEntry>();
  const files: RegistryFile[] = [];
  for (const { module, file, text } of found) {
    const verdict = verdictByFile.get(file);
    if (text === undefined || !verdict) {
      files.push({ file, module: module.name, events: [] });
      continue;
    }
    if (!verdict.valid) {
      errors.push(...verdict.errors);
      files.push({ file, module: module.name, events: [] });
      continue;
    }
    const { declarations, errors: declarationErrors } = readDeclarations(text, file);
    errors.push(...declarationErrors);
    for (const declaration of declarations) {
      const previous = merged.get(declaration.name);
      const resources = mergeResources(previous?.resources, declaration.resources);
      if (resources === 'conflict') {
        errors.push({
          file,
          line: declaration.line,
          column: declaration.column,
          message: `async_event '${declaration.name}': cannot merge <resources> into the ${previous?.resources?.length ?? 0} resources of ${previous?.definition.source.file}; Magento stops with "More than one node matching the query"`,
        });
        continue;
      }
      merged.set(declaration.name, {
        resources,
        definition: {
          name: declaration.name,
          serviceClass: declaration.serviceClass,
          serviceMethod: declaration.serviceMethod,
          resources: resources ?? [],
          module: module.name,
          source: { file, line: declaration.line, column: declaration.column },
        },
      });
    }
    files.push({ file, module: module.name, events: declarations.map((declaration) => declaration.name) });
  }

  for (const error of errors) logger.warn({ file: error.file, line: error.line, column: error.column }, error.message);
  const registry: EventRegistry = new Map([...merged].map(([name, entry]) => [name, entry.definition]));
  logger.debug({ events: registry.size, files: files.length }, 'event registry loaded');
  return { registry, files, modules: discovery.modules, missing: discovery.missing, errors };
}
