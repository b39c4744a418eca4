import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../logger.ts';
import { apiError, toErrorResponse, type MagentoErrorBody } from './api-error.ts';
import type { ApiDependencies } from './dependencies.ts';
import { badlyEncodedParam, orderRoutes, StreamResponse, type AnyRoute } from './route.ts';
import { parseInput } from './validation.ts';

/** `/rest/V1/…` (default store view) and `/rest/<store_code>/V1/…`; store codes are Magento's `[a-z0-9_]+`. */
const REST_PATH = /^\/rest\/(?:([a-z0-9_]+)\/)?(V\d+(?:\/.*)?)$/;

export interface RestRouterOptions {
  readonly routes: readonly AnyRoute[];
  readonly deps: ApiDependencies;
  readonly bodyLimitBytes: number;
  readonly logger: Logger;
}

export function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function bodyTooLarge(limit: number) {
  return apiError('VALIDATION_FAILED', 'Request body is larger than %1 bytes.', [limit], { status: 413 });
}

/** Content type, charset and UTF-8 are checked here so each gets a message naming what is wrong. */
function parseJsonBody(req: Request, raw: Buffer): unknown {
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

async function writeStream(res: Response, stream: StreamResponse): Promise<void> {
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

/** body-parser's and the router's own errors (`type`/`status`), in Magento's shape. */
function fromExpressError(error: unknown, req: Request, routes: readonly AnyRoute[], limit: number): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { type, status } = error as { type?: unknown; status?: unknown };
  if (type === 'entity.too.large') return bodyTooLarge(limit);
  if (type === 'request.aborted' || type === 'request.size.invalid') return apiError('VALIDATION_FAILED', 'The request body was cut off before its end.');
  if (typeof type === 'string' && typeof status === 'number') return apiError('VALIDATION_FAILED', '%1', [(error as Error).message], { status });
  if (error instanceof URIError && status === 400) {
    const param = badlyEncodedParam(routes, req.method, req.path);
    return apiError('VALIDATION_FAILED', 'Path parameter "%fieldName" is not valid percent-encoding.', { fieldName: param ?? 'path' });
  }
  return error;
}

/**
 * The zod route table as an express router. Every route authenticates first (a caller without a token learns
 * nothing from validation messages), then reads the body (body-parser, bounded), then validates path, query and
 * body with the route's schemas; the answer is checked against the response schema before it leaves, so a field
 * that must never leave (a verification token) cannot slip out through a handler change.
 */
export function createRestRouter(options: RestRouterOptions): RequestHandler {
  const { deps, logger } = options;
  const limit = options.bodyLimitBytes;
  const routes = orderRoutes(options.routes);
  const router = express.Router({ caseSensitive: true, strict: false });
  const readBody = express.raw({ type: () => true, limit });
  const bodyOf = (req: Request, res: Response) =>
    new Promise<Buffer>((resolve, reject) => {
      readBody(req, res, (error?: unknown) => (error ? reject(error) : resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))));
    });

  for (const route of routes) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
    router[method](route.path, async (req: Request, res: Response, next: NextFunction) => {
      res.locals.route = route.path;
      try {
        const principal = await deps.auth.authenticate(req.headers.authorization);
        const raw = await bodyOf(req, res);
        const params = parseInput(route.params, { ...req.params }, 'path');
        const query = parseInput(route.query, req.query, 'query');
        let body: unknown;
        if (route.body) {
          const json = raw.length === 0 ? undefined : parseJsonBody(req, raw);
          if (json === undefined && !route.body.safeParse(undefined).success) {
            throw apiError('VALIDATION_FAILED', 'Request body is expected; send a JSON object.');
          }
          body = parseInput(route.body, json, 'body');
        }
        const storeCode = res.locals.storeCode as string | undefined;
        const result = await route.handler({ params, query, body, deps, principal, storeCode });
        if (result instanceof StreamResponse) {
          await writeStream(res, result);
          return;
        }
        const checked = route.response.safeParse(result);
        if (!checked.success) {
          throw new Error(`response of ${route.method} ${route.path} does not match its schema: ${checked.error.message}`);
        }
        sendJson(res, 200, checked.data);
      } catch (error) {
        next(error);
      }
    });
  }

  router.use((req: Request, res: Response) => {
    res.locals.route = 'unmatched';
    // Drain so a keep-alive connection stays usable.
    req.resume();
    sendJson(res, 404, { message: 'Request does not match any route.' } satisfies MagentoErrorBody);
  });

  router.use((thrown: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      logger.error({ err: thrown, route: res.locals.route }, 'response failed after it started; connection cut');
      res.destroy();
      return;
    }
    const { status, body } = toErrorResponse(fromExpressError(thrown, req, routes, limit), logger);
    sendJson(res, status, body, status === 413 ? { connection: 'close' } : {});
  });

  return (req, res, next) => {
    const match = REST_PATH.exec(req.path);
    if (!match) {
      next();
      return;
    }
    res.locals.storeCode = match[1];
    const query = req.url.indexOf('?');
    // The table's paths start at `/V1`: the store code is taken off here and handed to handlers beside the path.
    req.url = `/${match[2] ?? ''}${query === -1 ? '' : req.url.slice(query)}`;
    router(req, res, next);
  };
}
