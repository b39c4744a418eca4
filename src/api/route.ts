import type { z } from 'zod';
import type { ApiDependencies, Principal } from './dependencies.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly deps: ApiDependencies;
  readonly principal: Principal;
  /** Store code of `/rest/<code>/V1/…` (`all` = admin store 0); undefined for `/rest/V1/…` (default store view). */
  readonly storeCode: string | undefined;
}

/** A handler result sent as a stream (CSV download) instead of validated JSON. */
export class StreamResponse {
  constructor(
    readonly contentType: string,
    readonly chunks: AsyncIterable<string>,
    readonly filename?: string,
  ) {}
}

/**
 * One REST route: its zod schemas are both the runtime validation and the source of `/openapi.json`. The
 * response schema also runs on every answer, so a field that must never leave (the verification token) cannot
 * slip into a response through a handler change.
 */
export interface Route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  readonly method: HttpMethod;
  /** Magento-style pattern below the `/rest[/<store>]` prefix, e.g. `/V1/async_event/:subscriptionId`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** Upstream's route (webapi.xml) or ours. */
  readonly origin: 'upstream' | 'async-events';
  readonly params: P;
  readonly query: Q;
  /** Absent: the route takes no body and ignores one. */
  readonly body?: B;
  readonly response: R;
  /** Set for streamed, non-JSON answers; `response` then documents nothing but the media type. */
  readonly responseContentType?: string;
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R> | StreamResponse>;
}

export type AnyRoute = Route<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

/** Keeps each route's types while the table holds them side by side. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(route: Route<P, Q, B, R>): AnyRoute {
  return route as unknown as AnyRoute;
}

/** Literal segments beat parameters at the same position, so `/V1/async_events/sinks` wins over a `:param`. */
function specificity(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? '1' : '0'))
    .join('');
}

/**
 * The table in the order a first-match router (express) must try it, most specific first; two routes with the same
 * method and shape are a table bug, refused at start.
 */
export function orderRoutes(routes: readonly AnyRoute[]): AnyRoute[] {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path.replace(/:\w+/g, ':')}`;
    if (seen.has(key)) throw new Error(`duplicate route ${route.method} ${route.path}`);
    seen.add(key);
  }
  return [...routes].sort((a, b) => specificity(a.path).localeCompare(specificity(b.path)));
}

/**
 * The path parameter of a route whose raw segment is not valid percent-encoding (express refuses such a path
 * before any handler runs, without naming the parameter).
 */
export function badlyEncodedParam(routes: readonly AnyRoute[], method: string, path: string): string | undefined {
  const parts = path.split('/').filter((s) => s !== '');
  for (const route of routes) {
    const segments = route.path.split('/').filter((s) => s !== '');
    if (route.method !== method || segments.length !== parts.length) continue;
    if (!segments.every((s, i) => s.startsWith(':') || s === parts[i])) continue;
    const index = segments.findIndex((s, i) => {
      if (!s.startsWith(':')) return false;
      try {
        decodeURIComponent(parts[i] ?? '');
        return false;
      } catch {
        return true;
      }
    });
    if (index !== -1) return segments[index]?.slice(1);
  }
  return undefined;
}
