import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { apiError, toErrorResponse, type MagentoErrorBody } from './api-error.ts';
import type { ApiDependencies, ServiceHealth } from './dependencies.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { parseNestedQuery } from './query-string.ts';
import { createRouter, StreamResponse, type AnyRoute } from './route.ts';
import { createRoutes } from './routes.ts';
import { parseInput } from './validation.ts';

/** Handles a request outside the built-in routes and says so by returning true. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
/** A handler owning every path under a prefix (GraphQL at `/graphql`, the console at `/`). */
export type MountedHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  readonly deps: ApiDependencies;
  readonly port: number;
  readonly host?: string;
  readonly extraRoutes?: readonly ExtraRoute[];
  /** Metrics to serve at /metrics (their registry), or a bare registry; default prom-client's global registry. */
  readonly metrics?: Metrics | Registry;
  readonly routes?: readonly AnyRoute[];
  readonly bodyLimitBytes?: number;
  /** How long close() waits for in-flight requests before cutting connections. */
  readonly closeTimeoutMs?: number;
  readonly version?: string;
}

export interface HttpServer {
  readonly server: Server;
  /** Bound port (the real one when `port` was 0); valid after listen(). */
  readonly port: number;
  readonly url: string;
  listen(): Promise<void>;
  mount(prefix: string, handler: MountedHandler): void;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const REST_PATH = /^\/rest\/(?:([a-z0-9_]+)\/)?(V\d+(?:\/.*)?)$/;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function bodyTooLarge(limit: number) {
  return apiError('VALIDATION_FAILED', 'Request body is larger than %1 bytes.', [limit], { status: 413 });
}

/**
 * Reads the body up to the limit. Past the limit the rest is read and dropped, so the client still sees the 413
 * instead of a reset connection; a body far past the limit gets the connection cut.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        if (size > limit * 8) {
          settle(() => reject(bodyTooLarge(limit)));
          req.destroy();
        }
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => settle(() => (tooLarge ? reject(bodyTooLarge(limit)) : resolve(Buffer.concat(chunks)))));
    req.on('error', (error) => settle(() => reject(error)));
    req.on('close', () => settle(() => reject(apiError('VALIDATION_FAILED', 'The request body was cut off before its end.'))));
  });
}

function parseJsonBody(req: IncomingMessage, raw: Buffer): unknown {
  const contentType = req.headers['content-type'];
  if (contentType === undefined || contentType.trim() === '') {
    throw apiError('VALIDATION_FAILED', 'Content-Type header is empty; send "Content-Type: application/json".');
  }
  const [mediaType, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    throw apiError('VALIDATION_FAILED', 'Server cannot understand Content-Type HTTP header media type %1; send application/json.', [mediaType ?? '']);
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw apiError('VALIDATION_FAILED', 'UTF-8 is the only supported charset.');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw apiError('VALIDATION_FAILED', 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw apiError('VALIDATION_FAILED', 'The request body is not valid JSON: %1', [reason]);
  }
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      throw apiError('VALIDATION_FAILED', 'Path parameter "%fieldName" is not valid percent-encoding.', { fieldName: name });
    }
  }
  return decoded;
}

async function writeStream(res: ServerResponse, stream: StreamResponse): Promise<void> {
  const headers: Record<string, string> = { 'content-type': stream.contentType, 'cache-control': 'no-store' };
  if (stream.filename) headers['content-disposition'] = `attachment; filename="${stream.filename}"`;
  res.writeHead(200, headers);
  for await (const chunk of stream.chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
  }
  res.end();
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { deps } = options;
  const logger = deps.logger.child({ stage: 'api' });
  const routes = options.routes ?? createRoutes();
  const router = createRouter(routes);
  const metrics = options.metrics && 'registry' in options.metrics && 'deliveriesTotal' in options.metrics
    ? options.metrics
    : createMetrics(options.metrics ? { registry: options.metrics as Registry } : {});
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const mounts: { prefix: string; handler: MountedHandler }[] = [];
  let openApi: string | undefined;
  let active = 0;
  let closing = false;
  let idle: (() => void) | undefined;

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray): Promise<string> {
    const storeCode = match[1];
    const found = router.match(req.method ?? 'GET', `/${match[2] ?? ''}`);
    if (found.kind === 'none') {
      // Drain so a keep-alive connection stays usable.
      req.resume();
      sendJson(res, 404, { message: 'Request does not match any route.' } satisfies MagentoErrorBody);
      return 'unmatched';
    }
    const { route } = found;
    try {
      const principal = await deps.auth.authenticate(req.headers.authorization);
      const raw = await readBody(req, bodyLimit);
      const params = parseInput(route.params, decodeParams(found.params), 'path');
      const query = parseInput(route.query, parseNestedQuery(url.searchParams), 'query');
      let body: unknown;
      if (route.body) {
        const json = raw.length === 0 ? undefined : parseJsonBody(req, raw);
        if (json === undefined && !route.body.safeParse(undefined).success) {
          throw apiError('VALIDATION_FAILED', 'Request body is expected; send a JSON object.');
        }
        body = parseInput(route.body, json, 'body');
      }
      const result = await route.handler({ params, query, body, deps, principal, storeCode });
      if (result instanceof StreamResponse) {
        await writeStream(res, result);
        return route.path;
      }
      const checked = route.response.safeParse(result);
      if (!checked.success) {
        throw new Error(`response of ${route.method} ${route.path} does not match its schema: ${checked.error.message}`);
      }
      sendJson(res, 200, checked.data);
    } catch (error) {
      if (res.headersSent) {
        logger.error({ err: error, route: route.path }, 'response failed after it started; connection cut');
        res.destroy();
      } else {
        const { status, body } = toErrorResponse(error, logger);
        sendJson(res, status, body, status === 413 ? { connection: 'close' } : {});
      }
    }
    return route.path;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let label = 'other';
    active += 1;
    res.on('close', () => {
      active -= 1;
      metrics.httpRequestDuration.observe(
        { method: req.method ?? 'GET', route: label, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      if (closing && active === 0) idle?.();
    });
    if (closing) res.setHeader('connection', 'close');
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const rest = REST_PATH.exec(path);
      if (rest) {
        label = await handleRest(req, res, url, rest);
        return;
      }
      if (path === '/healthz') {
        label = path;
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      if (path === '/readyz') {
        label = path;
        let services: readonly ServiceHealth[];
        try {
          services = await deps.health();
        } catch (error) {
          logger.warn({ err: error }, 'health check failed');
          sendJson(res, 503, { status: 'not ready', down: ['health check'], services: [{ name: 'health check', up: false, detail: error instanceof Error ? error.message : String(error) }] });
          return;
        }
        const down = services.filter((s) => !s.up);
        sendJson(res, down.length === 0 ? 200 : 503, { status: down.length === 0 ? 'ready' : 'not ready', down: down.map((s) => s.name), services });
        return;
      }
      if (path === '/metrics') {
        label = path;
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (path === '/openapi.json') {
        label = path;
        openApi ??= JSON.stringify(buildOpenApiDocument(routes, options.version ? { version: options.version } : {}));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(openApi);
        return;
      }
      const mount = mounts.find((m) => m.prefix === '/' || path === m.prefix || path.startsWith(`${m.prefix}/`));
      if (mount) {
        label = mount.prefix;
        await mount.handler(req, res);
        return;
      }
      for (const extra of options.extraRoutes ?? []) {
        if (await extra(req, res)) {
          label = 'extra';
          return;
        }
      }
      req.resume();
      sendJson(res, 404, { message: 'Request does not match any route.' });
    } catch (error) {
      if (res.headersSent) {
        logger.error({ err: error }, 'handler failed after the response started');
        res.destroy();
        return;
      }
      const { status, body } = toErrorResponse(error, logger);
      sendJson(res, status, body);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  let boundPort = options.port;
  const host = options.host ?? '0.0.0.0';

  return {
    server,
    get port() {
      return boundPort;
    },
    get url() {
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      return `http://${shown.includes(':') ? `[${shown}]` : shown}:${boundPort}`;
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, host, () => {
          server.off('error', reject);
          boundPort = (server.address() as AddressInfo).port;
          logger.info({ port: boundPort, host }, 'HTTP server listening');
          resolve();
        });
      });
    },
    mount(prefix, handler) {
      const normalized = prefix === '/' ? '/' : `/${prefix.replace(/^\/+|\/+$/g, '')}`;
      mounts.push({ prefix: normalized, handler });
      // Longest prefix first, `/` last.
      mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        const timeout = options.closeTimeoutMs ?? 10_000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeout);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeIdleConnections();
      server.closeAllConnections();
      await closed;
    },
  };
}
