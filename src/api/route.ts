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

type Segment = { readonly literal: string } | { readonly param: string };

interface CompiledRoute {
  readonly route: AnyRoute;
  readonly segments: readonly Segment[];
}

export type RouteMatch =
  | { readonly kind: 'matched'; readonly route: AnyRoute; readonly params: Record<string, string> }
  | { readonly kind: 'none' };

function compile(path: string): Segment[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }));
}

/** Literal segments beat parameters at the same position, so `/V1/async_events/sinks` wins over a `:param`. */
function specificity(segments: readonly Segment[]): string {
  return segments.map((s) => ('literal' in s ? '0' : '1')).join('');
}

export interface Router {
  readonly routes: readonly AnyRoute[];
  match(method: string, path: string): RouteMatch;
}

export function createRouter(routes: readonly AnyRoute[]): Router {
  const compiled: CompiledRoute[] = routes
    .map((route) => ({ route, segments: compile(route.path) }))
    .sort((a, b) => specificity(a.segments).localeCompare(specificity(b.segments)));
  const seen = new Set<string>();
  for (const { route, segments } of compiled) {
    const key = `${route.method} ${segments.map((s) => ('literal' in s ? s.literal : ':')).join('/')}`;
    if (seen.has(key)) throw new Error(`duplicate route ${route.method} ${route.path}`);
    seen.add(key);
  }
  return {
    routes,
    match(method, path) {
      const parts = path.split('/').filter((s) => s !== '');
      for (const { route, segments } of compiled) {
        if (route.method !== method || segments.length !== parts.length) continue;
        const params: Record<string, string> = {};
        let ok = true;
        for (let i = 0; i < segments.length; i += 1) {
          const segment = segments[i];
          const part = parts[i] ?? '';
          if (segment === undefined) { ok = false; break; }
          if ('literal' in segment) {
            if (segment.literal !== part) { ok = false; break; }
          } else {
            params[segment.param] = part;
          }
        }
        if (ok) return { kind: 'matched', route, params };
      }
      return { kind: 'none' };
    },
  };
}
