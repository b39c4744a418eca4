import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../logger.ts';
import { toErrorResponse } from './api-error.ts';
import type { ApiDependencies, ServiceHealth } from './dependencies.ts';
import type { Metrics } from './metrics.ts';
import { sendJson } from './rest-router.ts';

export interface ProbeOptions {
  readonly deps: ApiDependencies;
  readonly metrics: Metrics;
  readonly metricsPublic: boolean;
  readonly logger: Logger;
}

const started = Date.now();

/** Whether the caller holds a valid token; probes never answer 401, they just say less. */
async function hasToken(deps: ApiDependencies, req: Request): Promise<boolean> {
  if (req.headers.authorization === undefined) return false;
  try {
    await deps.auth.authenticate(req.headers.authorization);
    return true;
  } catch {
    return false;
  }
}

/**
 * `/healthz`, `/readyz` and `/metrics`. Load balancers and orchestrators call the probes without a token, so they
 * get states only (up or down per service); error text, which may name hosts, users or paths, needs the token.
 * `/metrics` needs the token unless ASYNC_EVENTS_METRICS_PUBLIC=1 (Prometheus sends it as a bearer token).
 */
export function probeRoutes(options: ProbeOptions): RequestHandler {
  const { deps, metrics, logger } = options;
  const router = express.Router({ caseSensitive: true });

  router.get('/healthz', async (req: Request, res: Response) => {
    res.locals.route = '/healthz';
    const detailed = await hasToken(deps, req);
    sendJson(res, 200, detailed ? { status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000) } : { status: 'ok' });
  });

  router.get('/readyz', async (req: Request, res: Response) => {
    res.locals.route = '/readyz';
    const detailed = await hasToken(deps, req);
    let services: readonly ServiceHealth[];
    try {
      services = await deps.health();
    } catch (error) {
      logger.warn({ err: error }, 'health check failed');
      services = [{ name: 'health check', up: false, detail: error instanceof Error ? error.message : String(error) }];
    }
    const down = services.filter((s) => !s.up);
    sendJson(res, down.length === 0 ? 200 : 503, {
      status: down.length === 0 ? 'ready' : 'not ready',
      down: down.map((s) => s.name),
      services: services.map((s) => (detailed ? { name: s.name, up: s.up, detail: s.detail } : { name: s.name, up: s.up })),
    });
  });

  router.get('/metrics', async (req: Request, res: Response) => {
    res.locals.route = '/metrics';
    if (!options.metricsPublic) {
      try {
        await deps.auth.authenticate(req.headers.authorization);
      } catch (error) {
        const { status, body } = toErrorResponse(error, logger);
        sendJson(res, status, body, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
        return;
      }
    }
    const text = await metrics.registry.metrics();
    res.status(200).type(metrics.registry.contentType).send(text);
  });

  return router;
}
