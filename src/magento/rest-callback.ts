import { Pool } from 'undici';
import { AsyncEventsError } from '../errors.ts';
import { faultOfStatus, MagentoCallbackError } from './callback-error.ts';
import type { Logger } from '../logger.ts';
import { phpJsonEncode } from '../sinks/php-json.ts';
import { createRequestDeadlines, readBodyText } from '../sinks/request-deadlines.ts';
import type { EventDefinition, StoreId } from '../types.ts';
import type { MagentoCallback } from './callback.ts';
import type { WebapiRoute, WebapiRouteIndex } from './webapi-routes.ts';

/** Store id → store code for the `/rest/<store_code>/V1` prefix; store 0 is always `all` and never asked. */
export type StoreCodeResolver = (storeId: number) => string | Promise<string>;

export interface RestCallbackOptions {
  /** Magento base URL without `/rest` (a trailing `/rest` is tolerated). */
  readonly baseUrl: string;
  /** Integration access token (`Authorization: Bearer`). */
  readonly token: string;
  readonly routes: WebapiRouteIndex;
  readonly logger: Logger;
  /** Whole request, headers and body; default 30 s. */
  readonly timeoutMs?: number;
  /** Keep-alive connections to Magento; default 10. */
  readonly connections?: number;
  /**
   * Default: the store codes Magento lists at `GET /rest/all/V1/store/storeViews` (ACL `Magento_Backend::store`),
   * read on first use and re-read when an unknown id shows up (at most once a minute). If that list cannot be
   * read, store 1 falls back to `default` (Magento's default store view) and other stores fail with a message
   * saying how to fix it.
   */
  readonly storeCodeFor?: StoreCodeResolver;
}

/**
 * The Magento callback over REST: runs the event's service through its webapi.xml route with the named
 * arguments mapped as Magento's REST layer maps them, and returns the response body as Magento wrote it.
 */
export function createRestCallback(options: RestCallbackOptions): MagentoCallback {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '').replace(/\/rest$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new Pool(base.origin, { connections: options.connections ?? 10, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const logger = options.logger.child({ stage: 'magento-callback' });
  const deadlines = createRequestDeadlines(timeoutMs);

  async function call(method: string, pathAndQuery: string, body: string | undefined, what: string, signal?: AbortSignal): Promise<string> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const target = `${method} ${basePath}${pathAndQuery}`;
    let status: number;
    let text: string;
    const deadline = deadlines.start(signal);
    try {
      const response = await pool.request({ method: method as 'GET', path: basePath + pathAndQuery, headers, body, signal: deadline.signal });
      status = response.statusCode;
      text = await readBodyText(response.body);
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || /timeout/i.test(error.message));
      const reason = timedOut ? `no complete response within ${timeoutMs} ms` : describe(error);
      if (signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', `Magento callback ${target} for ${what} aborted: shutting down`, { url: target }, { cause: error });
      throw new MagentoCallbackError('outage', `Magento callback ${target} for ${what} failed: ${reason}`, { url: target }, { cause: error });
    } finally {
      deadline.done();
    }
    if (status < 200 || status >= 300) {
      const message = magentoMessage(text);
      throw new MagentoCallbackError(faultOfStatus(status), `Magento answered HTTP ${status} to ${target} for ${what}${message ? `: ${message}` : ''}`, {
        url: target,
        status,
        magentoMessage: message,
      });
    }
    return text;
  }

  const storeCodeFor = options.storeCodeFor ?? createStoreViewResolver((path) => call('GET', path, undefined, 'the store code list'), logger);

  async function storePrefix(storeId: StoreId): Promise<string> {
    const id = typeof storeId === 'number' ? storeId : /^\s*\d+\s*$/.test(storeId) ? Number(storeId) : Number.NaN;
    if (!Number.isInteger(id) || id < 0) {
      throw new MagentoCallbackError('permanent', `store id ${JSON.stringify(storeId)} is not a non-negative integer`, { storeId });
    }
    return `/rest/${encodeURIComponent(id === 0 ? 'all' : await storeCodeFor(id))}`;
  }

  return {
    async fetchEventData(event: EventDefinition, args: Readonly<Record<string, unknown>>, storeId: StoreId, signal?: AbortSignal): Promise<string> {
      const what = `${event.serviceClass}::${event.serviceMethod} (event ${event.name})`;
      const routes = options.routes.routesFor(event.serviceClass, event.serviceMethod);
      if (routes.length === 0) {
        throw new AsyncEventsError(
          'CALLBACK_NO_ROUTE',
          `no REST route in any webapi.xml runs ${event.serviceClass}::${event.serviceMethod} (event ${event.name}); ` +
            'run `async-events generate` and install the generated bridge module, which adds one',
          { service: `${event.serviceClass}::${event.serviceMethod}`, event: event.name },
        );
      }
      const request = buildRestRequest(routes, args, what);
      const prefix = await storePrefix(storeId);
      return call(request.method, prefix + request.pathAndQuery, request.body, what, signal);
    },
    async close() {
      await pool.close();
    },
  };
}

export interface RestRequest {
  readonly route: WebapiRoute;
  readonly method: string;
  /** Path after the store prefix, with the query string. */
  readonly pathAndQuery: string;
  readonly body: string | undefined;
}

/**
 * Maps named service arguments onto the first route (in preference order) whose path parameters they fill:
 * path parameters by name (camelCase or snake_case, as Magento matches PHP parameter names), the rest as a
 * PHP-style query string for GET/DELETE or as the JSON body otherwise.
 */
export function buildRestRequest(routes: readonly WebapiRoute[], args: Readonly<Record<string, unknown>>, what: string): RestRequest {
  const missing: string[] = [];
  for (const route of routes) {
    const used = new Set<string>();
    let fillable = true;
    const segments = route.url.split('/').map((segment) => {
      if (!fillable || !segment.startsWith(':')) return segment;
      const name = segment.slice(1);
      const key = Object.keys(args).find((k) => k === name || camel(k) === camel(name));
      const value = key === undefined ? undefined : args[key];
      if (key === undefined || value === null || value === undefined || typeof value === 'object') {
        fillable = false;
        missing.push(`${route.httpMethod} ${route.url} needs "${name}"`);
        return segment;
      }
      used.add(key);
      return encodeURIComponent(scalarText(value));
    });
    if (!fillable) continue;
    const url = segments.join('/');
    const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !used.has(k)));
    if (route.httpMethod === 'GET' || route.httpMethod === 'DELETE') {
      const query = phpQueryString(rest);
      return { route, method: route.httpMethod, pathAndQuery: query === '' ? url : `${url}?${query}`, body: undefined };
    }
    return { route, method: route.httpMethod, pathAndQuery: url, body: phpJsonEncode(rest) };
  }
  throw new AsyncEventsError(
    'CALLBACK_NO_ROUTE',
    `the arguments ${JSON.stringify(Object.keys(args))} fill no REST route of ${what}: ${missing.join('; ')}`,
    { routes: routes.map((r) => `${r.httpMethod} ${r.url}`) },
  );
}

/** PHP `http_build_query` shape: nested values as `a[b][0]=…`, booleans as 1/0, nulls left out. */
export function phpQueryString(values: Readonly<Record<string, unknown>>): string {
  const pairs: string[] = [];
  const walk = (prefix: string, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object') {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) walk(`${prefix}[${encodeURIComponent(key)}]`, item);
      return;
    }
    pairs.push(`${prefix}=${encodeURIComponent(scalarText(value))}`);
  };
  for (const [key, value] of Object.entries(values)) walk(encodeURIComponent(key), value);
  return pairs.join('&');
}

function scalarText(value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}

/** Magento's error `message` with its `%name` / `%1` placeholders filled from `parameters`. */
export function magentoMessage(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const trimmed = text.trim();
    return trimmed === '' ? undefined : trimmed.slice(0, 500);
  }
  if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { message?: unknown }).message !== 'string') return text.slice(0, 500);
  const { message, parameters } = parsed as { message: string; parameters?: unknown };
  if (parameters === null || typeof parameters !== 'object') return message;
  const lookup = parameters as Record<string, unknown>;
  return message.replace(/%(\w+)/g, (match, name: string) => {
    const value = Array.isArray(parameters) ? (parameters as unknown[])[Number(name) - 1] : lookup[name];
    return value === undefined ? match : String(value);
  });
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}

/** The default StoreCodeResolver (see `RestCallbackOptions.storeCodeFor`). */
export function createStoreViewResolver(get: (path: string) => Promise<string>, logger: Logger, minRefreshMs = 60_000): StoreCodeResolver {
  let codes = new Map<number, string>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;
  let lastError: Error | undefined;

  const load = async (): Promise<void> => {
    try {
      const views = JSON.parse(await get('/rest/all/V1/store/storeViews')) as { id?: unknown; code?: unknown }[];
      codes = new Map(views.filter((v) => typeof v.id === 'number' && typeof v.code === 'string').map((v) => [v.id as number, v.code as string]));
      lastError = undefined;
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      logger.warn({ err: lastError }, 'cannot read Magento store views for store codes');
    } finally {
      loadedAt = Date.now();
    }
  };

  return async (storeId) => {
    if (!codes.has(storeId) && Date.now() - loadedAt >= minRefreshMs) {
      loading ??= load().finally(() => (loading = undefined));
      await loading;
    }
    const code = codes.get(storeId);
    if (code !== undefined) return code;
    if (lastError !== undefined && storeId === 1) return 'default';
    throw new MagentoCallbackError(
      lastError !== undefined ? 'outage' : 'permanent',
      lastError !== undefined
        ? `cannot tell the store code of store ${storeId}: reading /rest/all/V1/store/storeViews failed (${lastError.message}); grant the integration Magento_Backend::store or configure the store codes`
        : `store ${storeId} is not among Magento's store views`,
      { storeId },
    );
  };
}
