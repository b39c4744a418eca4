import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import { toErrorResponse } from './api-error.ts';
import type { ApiDependencies } from './dependencies.ts';
import { parseMagentoQuery } from './magento-query.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { probeRoutes } from './probes.ts';
import { createRestRouter, sendJson } from './rest-router.ts';
import type { AnyRoute } from './route.ts';
import { createRoutes } from './routes.ts';
import { failedSignInLimiter, type SignInLimit } from './sign-in-limit.ts';

/** Handles a request outside the built-in routes and says so by returning true. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
/** A handler owning every path under a prefix (GraphQL at `/graphql`, the console at `/`). */
export type MountedHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  readonly deps: ApiDependencies;
  readonly port: number;
  /** Bind address; default 127.0.0.1 (see README, "Listening"). */
  readonly host?: string;
  readonly extraRoutes?: readonly ExtraRoute[];
  /** Metrics to serve at /metrics (their registry), or a bare registry; default prom-client's global registry. */
  readonly metrics?: Metrics | Registry;
  /** Serve /metrics without a token (ASYNC_EVENTS_METRICS_PUBLIC=1). */
  readonly metricsPublic?: boolean;
  readonly routes?: readonly AnyRoute[];
  readonly bodyLimitBytes?: number;
  /** How long close() waits for in-flight requests before cutting connections. */
  readonly closeTimeoutMs?: number;
  readonly version?: string;
  /** Failed sign-ins (401) allowed per client address and window before it gets 429s. */
  readonly signInLimit?: SignInLimit;
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
export const DEFAULT_HOST = '127.0.0.1';

/**
 * The one HTTP port, an express 5 app: security headers (helmet), failed sign-ins rate-limited, the REST route
 * table under `/rest[/<store>]/V1`, probes and metrics, OpenAPI, then the mounted GraphQL and console handlers.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { deps } = options;
  const logger = deps.logger.child({ stage: 'api' });
  const routes = options.routes ?? createRoutes();
  const metrics = options.metrics && 'registry' in options.metrics && 'deliveriesTotal' in options.metrics
    ? options.metrics
    : createMetrics(options.metrics ? { registry: options.metrics as Registry } : {});
  const mounts: { prefix: string; handler: MountedHandler }[] = [];
  let openApi: string | undefined;
  let active = 0;
  let closing = false;
  let idle: (() => void) | undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', parseMagentoQuery);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    active += 1;
    res.on('close', () => {
      active -= 1;
      const route = typeof res.locals.route === 'string' ? res.locals.route : 'other';
      metrics.httpRequestDuration.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
      if (closing && active === 0) idle?.();
    });
    if (closing) res.setHeader('connection', 'close');
    next();
  });
  app.use(
    helmet({
      // The console's policy (src/console/handler.ts) for everything; GraphiQL's page sets its own.
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], frameAncestors: ["'none'"], formAction: ["'self'"] } },
      // Served over plain HTTP on a private address by default; HSTS is the TLS proxy's business.
      strictTransportSecurity: false,
    }),
  );
  app.use(failedSignInLimiter(options.signInLimit));
  app.use(createRestRouter({ routes, deps, bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT, logger }));
  app.use(probeRoutes({ deps, metrics, metricsPublic: options.metricsPublic ?? false, logger }));
  app.get('/openapi.json', (_req: Request, res: Response) => {
    res.locals.route = '/openapi.json';
    openApi ??= JSON.stringify(buildOpenApiDocument(routes, options.version ? { version: options.version } : {}));
    res.type('application/json; charset=utf-8').send(openApi);
  });
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const path = req.path;
      const mount = mounts.find((m) => m.prefix === '/' || path === m.prefix || path.startsWith(`${m.prefix}/`));
      if (mount) {
        res.locals.route = mount.prefix;
        await mount.handler(req, res);
        return;
      }
      for (const extra of options.extraRoutes ?? []) {
        if (await extra(req, res)) {
          res.locals.route = 'extra';
          return;
        }
      }
      req.resume();
      sendJson(res, 404, { message: 'Request does not match any route.' });
    } catch (error) {
      next(error);
    }
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      logger.error({ err: error }, 'handler failed after the response started');
      res.destroy();
      return;
    }
    const { status, body } = toErrorResponse(error, logger);
    sendJson(res, status, body);
  });

  const server = createServer(app);
  let boundPort = options.port;
  const host = options.host ?? DEFAULT_HOST;

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
