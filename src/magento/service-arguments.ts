import { BRIDGE_ROUTE_PREFIX } from '../bridge/routes.ts';
import type { WebapiRouteIndex } from './webapi-routes.ts';

/**
 * The named arguments an event's service needs, as its REST route declares them: the path parameters of the route
 * the callback prefers (`GET /V1/customers/:customerId` → `customerId` for CustomerRepositoryInterface::getById),
 * which is the route `buildRestRequest` fills first. Undefined when no route names them: the service has no route,
 * or only the generated bridge module's, which passes every argument as a query parameter (the sidecar cannot see
 * the PHP signature). A route without path parameters gives an empty list.
 */
export function serviceArguments(routes: WebapiRouteIndex, serviceClass: string, serviceMethod: string): readonly string[] | undefined {
  const route = routes.preferred(serviceClass, serviceMethod);
  if (route === undefined || route.url.startsWith(`${BRIDGE_ROUTE_PREFIX}/`)) return undefined;
  return route.params.map((param) => param.slice(1));
}
