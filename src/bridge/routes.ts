import { AsyncEventsError } from '../errors.ts';
import type { EventDefinition, EventRegistry } from '../types.ts';

/*
 * REST routes the bridge module adds for events whose service Magento does not already expose. One GET route per
 * event (not per service) because each event carries its own ACL resources. The URL carries no `:param`
 * segments: the service's arguments travel as query parameters, which Magento's REST layer maps onto the PHP
 * parameters by name (camelCase or snake_case), exactly as the trigger message's JSON keys are named.
 */

/** Every bridge route starts with this; the event name follows with each `.` turned into `/`. */
export const BRIDGE_ROUTE_PREFIX = '/V1/async-events/data';

/** ACL resource a bridge route requires when the event declares no `<resources>`. */
export const DEFAULT_ROUTE_RESOURCE = 'MageOS_AsyncEvents::manage';

export interface BridgeRoute {
  readonly eventName: string;
  /** e.g. `/V1/async-events/data/sales/order/created` */
  readonly url: string;
  readonly method: 'GET';
  readonly serviceClass: string;
  readonly serviceMethod: string;
  readonly resources: readonly string[];
}

const EVENT_NAME = /^[a-zA-Z0-9._-]+$/;
// PHP identifiers: a letter, underscore or any byte >= 0x80, then also digits (php.net "Names").
const PHP_NAME = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$/;
// Magento ACL ids look like `Vendor_Module::resource`; anything else cannot be granted to an integration.
const ACL_RESOURCE = /^[A-Za-z0-9]+_[A-Za-z0-9]+::[A-Za-z0-9_]+$/;

/** `Vendor\Module\Api\Foo` without a leading backslash, or undefined when it is not a PHP class name. */
export function normalizeClassName(className: string): string | undefined {
  const trimmed = className.startsWith('\\') ? className.slice(1) : className;
  const parts = trimmed.split('\\');
  return parts.every((part) => PHP_NAME.test(part)) ? trimmed : undefined;
}

export function serviceKey(serviceClass: string, serviceMethod: string): string {
  return `${normalizeClassName(serviceClass) ?? serviceClass}::${serviceMethod}`;
}

/** URL of the bridge route of an event; throws when the name cannot form one. */
export function bridgeRouteUrl(eventName: string): string {
  const problem = routeNameProblem(eventName);
  if (problem) throw new AsyncEventsError('CONFIG_INVALID', `event "${eventName}": ${problem}`, { eventName });
  return `${BRIDGE_ROUTE_PREFIX}/${eventName.split('.').join('/')}`;
}

function routeNameProblem(eventName: string): string | undefined {
  if (!EVENT_NAME.test(eventName)) return 'event names may contain only [a-zA-Z0-9._-]';
  // Dots become path segments; an empty segment would give `//`, which web servers and Magento's router collapse.
  if (eventName.split('.').some((part) => part === '')) {
    return 'the name has an empty part (leading, trailing or doubled "."), so it cannot form the bridge route URL; rename the event';
  }
  return undefined;
}

function where(event: EventDefinition): string {
  const column = event.source.column === undefined ? '' : `:${event.source.column}`;
  return `${event.source.file}:${event.source.line}${column}`;
}

/** Problems that stop an event from appearing in the bridge module at all. */
function eventProblems(event: EventDefinition, needsRoute: boolean): string[] {
  const problems: string[] = [];
  if (!EVENT_NAME.test(event.name)) problems.push('event names may contain only [a-zA-Z0-9._-]');
  if (normalizeClassName(event.serviceClass) === undefined) {
    problems.push(`service class "${event.serviceClass}" is not a PHP class name (Vendor\\Module\\Api\\Name)`);
  }
  if (!PHP_NAME.test(event.serviceMethod)) problems.push(`service method "${event.serviceMethod}" is not a PHP method name`);
  for (const resource of event.resources) {
    if (resource === 'anonymous' || resource === 'self') {
      problems.push(`resource "${resource}" would let ${resource === 'anonymous' ? 'anyone' : 'any customer'} call the bridge route and read the event's data; use an ACL resource such as Magento_Sales::actions_view`);
    } else if (!ACL_RESOURCE.test(resource)) {
      problems.push(`resource "${resource}" is not an ACL resource id (Vendor_Module::resource)`);
    }
  }
  if (needsRoute && EVENT_NAME.test(event.name)) {
    const problem = routeNameProblem(event.name);
    if (problem) problems.push(problem);
  }
  return problems.map((problem) => `${where(event)}: event "${event.name}": ${problem}`);
}

/**
 * The routes the bridge must add: one for each event whose `Class::method` is not in `routedServices`, sorted by
 * URL so that regenerating gives the same bytes. Every invalid event is reported in one error.
 */
export function collectBridgeRoutes(events: EventRegistry, routedServices: ReadonlySet<string>): BridgeRoute[] {
  const routed = new Set([...routedServices].map((key) => {
    const separator = key.lastIndexOf('::');
    return separator < 0 ? key : serviceKey(key.slice(0, separator), key.slice(separator + 2));
  }));
  const problems: string[] = [];
  const routes: BridgeRoute[] = [];
  for (const event of events.values()) {
    const needsRoute = !routed.has(serviceKey(event.serviceClass, event.serviceMethod));
    const eventIssues = eventProblems(event, needsRoute);
    problems.push(...eventIssues);
    if (!needsRoute || eventIssues.length > 0) continue;
    routes.push({
      eventName: event.name,
      url: bridgeRouteUrl(event.name),
      method: 'GET',
      serviceClass: normalizeClassName(event.serviceClass) ?? event.serviceClass,
      serviceMethod: event.serviceMethod,
      resources: event.resources.length > 0 ? [...new Set(event.resources)] : [DEFAULT_ROUTE_RESOURCE],
    });
  }
  if (problems.length > 0) {
    throw new AsyncEventsError('CONFIG_INVALID', `cannot generate the bridge module:\n${problems.join('\n')}`, { problems });
  }
  return routes.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}
