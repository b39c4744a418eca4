import type { AnyRoute } from './route.ts';
import { healthRoutes } from './routes-health.ts';
import { logRoutes, type LogRoutesOptions } from './routes-logs.ts';
import { subscriptionRoutes } from './routes-subscriptions.ts';

export type { AnyRoute, Route, RouteContext, HttpMethod } from './route.ts';
export { defineRoute, StreamResponse } from './route.ts';

export type RoutesOptions = LogRoutesOptions;

/** The REST route table: upstream's subscription routes, then ours. `/openapi.json` is generated from it. */
export function createRoutes(options: RoutesOptions = {}): AnyRoute[] {
  return [...subscriptionRoutes(), ...logRoutes(options), ...healthRoutes()];
}
