import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AsyncEventsError } from '../errors.ts';

/*
 * The REST routes of Magento's `etc/webapi.xml` files, indexed by service `Class::method`, so the callback can run
 * an event's service the way Magento's REST layer would. Routes merge like Magento's Webapi Converter: keyed by
 * URL + HTTP method, a later module (in module order) replaces an earlier one's route.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteParameter {
  /** Argument name; dots address nested keys (`customer.id`). */
  readonly name: string;
  /** Literal value or a magic `%customer_id%`-style placeholder resolved by Magento. */
  readonly value: string;
  /** `force="true"`: Magento overwrites the request's value; otherwise it is only a default. */
  readonly force: boolean;
}

export interface WebapiRoute {
  readonly serviceClass: string;
  readonly serviceMethod: string;
  readonly httpMethod: HttpMethod;
  /** As declared, e.g. `/V1/orders/:id`. */
  readonly url: string;
  /** Path parameters in order, with their colon, e.g. `[':id']`. */
  readonly params: readonly string[];
  readonly resources: readonly string[];
  readonly parameters: readonly RouteParameter[];
  readonly secure: boolean;
  readonly module: string;
  readonly file: string;
}

export interface WebapiRouteIndex {
  /** Every route of the service, best first for an integration-token callback (see `routePreference`). */
  routesFor(serviceClass: string, serviceMethod: string): readonly WebapiRoute[];
  /** The best route of the service, or undefined when it has none. */
  preferred(serviceClass: string, serviceMethod: string): WebapiRoute | undefined;
  all(): readonly WebapiRoute[];
}

export interface ModuleDir {
  readonly name: string;
  readonly dir: string;
}

const HTTP_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE'];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ['route', 'resource', 'parameter'].includes(name),
});

interface RawParameter {
  '#text'?: string;
  '@_name'?: string;
  '@_force'?: string;
}
interface RawRoute {
  '@_url'?: string;
  '@_method'?: string;
  '@_secure'?: string;
  service?: { '@_class'?: string; '@_method'?: string };
  resources?: { resource?: { '@_ref'?: string }[] };
  data?: { parameter?: (RawParameter | string)[] } | string;
}

/** Reads `etc/webapi.xml` of each module (in module order; modules without one are skipped) and indexes the routes. */
export async function loadWebapiRoutes(moduleDirs: readonly ModuleDir[]): Promise<WebapiRouteIndex> {
  const routes: WebapiRoute[] = [];
  for (const module of moduleDirs) {
    const file = path.join(module.dir, 'etc', 'webapi.xml');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new AsyncEventsError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
    }
    routes.push(...parseWebapiXml(text, file, module.name));
  }
  return indexWebapiRoutes(routes);
}

export function parseWebapiXml(text: string, file: string, module: string): WebapiRoute[] {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new AsyncEventsError('CONFIG_INVALID', `${file}:${line}:${col} ${msg}`, { file, line, column: col });
  }
  const document = parser.parse(text) as { routes?: { route?: RawRoute[] } | string };
  const rawRoutes = typeof document.routes === 'object' ? (document.routes.route ?? []) : [];
  return rawRoutes.map((raw, index) => {
    const where = `${file}: route #${index + 1}${raw['@_url'] ? ` (${raw['@_url']})` : ''}`;
    const url = raw['@_url'];
    const httpMethod = raw['@_method']?.toUpperCase();
    const serviceClass = raw.service?.['@_class'];
    const serviceMethod = raw.service?.['@_method'];
    if (!url) throw new AsyncEventsError('CONFIG_INVALID', `${where}: missing url attribute`, { file });
    if (!httpMethod || !HTTP_METHODS.includes(httpMethod)) {
      throw new AsyncEventsError('CONFIG_INVALID', `${where}: method must be one of ${HTTP_METHODS.join(', ')}, got "${raw['@_method'] ?? ''}"`, { file });
    }
    if (!serviceClass || !serviceMethod) throw new AsyncEventsError('CONFIG_INVALID', `${where}: <service> needs class and method`, { file });
    const data = typeof raw.data === 'object' ? (raw.data.parameter ?? []) : [];
    return {
      serviceClass: normaliseClass(serviceClass),
      serviceMethod,
      httpMethod: httpMethod as HttpMethod,
      url,
      params: url.split('/').filter((segment) => segment.startsWith(':')),
      resources: (raw.resources?.resource ?? []).map((r) => r['@_ref'] ?? '').filter((ref) => ref !== ''),
      parameters: data.map((p) => {
        const parameter: RawParameter = typeof p === 'string' ? { '#text': p } : p;
        return { name: parameter['@_name'] ?? '', value: parameter['#text'] ?? '', force: isTrue(parameter['@_force']) };
      }),
      secure: isTrue(raw['@_secure']),
      module,
      file,
    };
  });
}

export function indexWebapiRoutes(routes: readonly WebapiRoute[]): WebapiRouteIndex {
  const byPath = new Map<string, WebapiRoute>();
  for (const route of routes) {
    const key = `${route.httpMethod} ${route.url}`;
    byPath.delete(key); // a replacing route takes the later position, as in a PHP array_replace_recursive
    byPath.set(key, route);
  }
  const byService = new Map<string, WebapiRoute[]>();
  for (const route of byPath.values()) {
    const key = serviceKey(route.serviceClass, route.serviceMethod);
    const list = byService.get(key) ?? [];
    list.push(route);
    byService.set(key, list);
  }
  for (const list of byService.values()) list.sort((a, b) => routePreference(a) - routePreference(b));
  const all = [...byPath.values()];
  return {
    routesFor: (serviceClass, serviceMethod) => byService.get(serviceKey(serviceClass, serviceMethod)) ?? [],
    preferred: (serviceClass, serviceMethod) => byService.get(serviceKey(serviceClass, serviceMethod))?.[0],
    all: () => all,
  };
}

/**
 * Lower is better for a callback made with an integration token: a GET (reading has no side effect) that is not
 * a customer's own route (`self` resource, or forced `%customer_id%`-style parameters, which an integration
 * cannot satisfy), then routes with more path parameters (the callback falls back to the next route when the
 * event's arguments do not fill them all). `Array.prototype.sort` is stable, so declaration order breaks ties.
 */
export function routePreference(route: WebapiRoute): number {
  let rank = 0;
  if (route.httpMethod !== 'GET') rank += 1000;
  if (route.resources.includes('self')) rank += 500;
  if (route.parameters.some((p) => p.force && /%\w+%/.test(p.value))) rank += 250;
  rank -= Math.min(route.params.length, 50);
  return rank;
}

function serviceKey(serviceClass: string, serviceMethod: string): string {
  // PHP class and method names are case-insensitive.
  return `${normaliseClass(serviceClass)}::${serviceMethod}`.toLowerCase();
}

function normaliseClass(serviceClass: string): string {
  return serviceClass.trim().replace(/^\\+/, '');
}

/**
 * Magento's Converter reads booleans with `filter_var(…, FILTER_VALIDATE_BOOLEAN)` (older releases with a PHP
 * `(bool)` cast, under which even "false" is true; the XSD only allows true/false/1/0, so that matters only for
 * `force="false"`, where we follow the newer reading).
 */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', '1', 'yes', 'on'].includes(value.trim().toLowerCase());
}
