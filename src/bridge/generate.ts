import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { EventRegistry } from '../types.ts';
import { renderTemplates } from './render.ts';
import { BRIDGE_ROUTE_PREFIX, DEFAULT_ROUTE_RESOURCE, collectBridgeRoutes, normalizeClassName } from './routes.ts';
import { writeChangedFiles, type WriteResult } from './write.ts';

export const DEFAULT_TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates', 'bridge');
export const DEFAULT_SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schemas', 'async_events.xsd');
export const DEFAULT_CONSOLE_URL = 'http://localhost:8080/';
/** Where the schema lands in the module: the URN `urn:magento:module:MageOS_AsyncEvents:etc/async_events.xsd`. */
export const SCHEMA_OUTPUT = 'etc/async_events.xsd';

export interface GenerateBridgeOptions {
  readonly events: EventRegistry;
  /** `Class::method` of services that already have a Magento REST route. */
  readonly routedServices: ReadonlySet<string>;
  readonly outDir: string;
  /** Default of `system/async_events/console_url`, where the admin menu entry sends people. */
  readonly consoleUrl?: string;
  readonly logger: Logger;
  readonly templatesDir?: string;
  readonly schemaFile?: string;
}

function checkConsoleUrl(consoleUrl: string): string {
  let url: URL;
  try {
    url = new URL(consoleUrl);
  } catch {
    throw new AsyncEventsError('SETTING_INVALID', `console URL "${consoleUrl}" is not an absolute URL (e.g. https://events.example.com/)`, { consoleUrl });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AsyncEventsError('SETTING_INVALID', `console URL "${consoleUrl}" must use http or https`, { consoleUrl });
  }
  return consoleUrl;
}

async function readSchema(schemaFile: string): Promise<string> {
  try {
    return await readFile(schemaFile, 'utf8');
  } catch (error) {
    throw new AsyncEventsError('CONFIG_UNREADABLE', `cannot read the async_events.xml schema ${schemaFile}: ${(error as Error).message}`, { schemaFile }, { cause: error });
  }
}

/**
 * Writes the PHP bridge module `MageOS_AsyncEvents` into `outDir`: the publisher observers already use, the queue
 * topology (following env.php's default connection, so AMQP and the database queue both work), the tables, the
 * admin configuration and menu, and REST routes for event services Magento does not expose yet.
 */
export async function generateBridge(options: GenerateBridgeOptions): Promise<WriteResult> {
  const consoleUrl = checkConsoleUrl(options.consoleUrl ?? DEFAULT_CONSOLE_URL);
  const routes = collectBridgeRoutes(options.events, options.routedServices);
  const routeEvents = new Set(routes.map((route) => route.eventName));
  const routedEvents = [...options.events.values()]
    .filter((event) => !routeEvents.has(event.name))
    .map((event) => ({ name: event.name, service: `${normalizeClassName(event.serviceClass) ?? event.serviceClass}::${event.serviceMethod}` }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const context = {
    moduleName: 'MageOS_AsyncEvents',
    consoleUrl,
    routes,
    routedEvents,
    routePrefix: BRIDGE_ROUTE_PREFIX,
    defaultResource: DEFAULT_ROUTE_RESOURCE,
  };
  const files = await renderTemplates(options.templatesDir ?? DEFAULT_TEMPLATES_DIR, context);
  files.set(SCHEMA_OUTPUT, await readSchema(options.schemaFile ?? DEFAULT_SCHEMA_FILE));
  const outDir = path.resolve(options.outDir);
  const result = await writeChangedFiles(outDir, files);
  options.logger.info({ outDir, written: result.written.length, unchanged: result.unchanged.length, routes: routes.length }, 'bridge module generated');
  return result;
}
