import { createEventAccess, type EventAccess } from '../config/event-access.ts';
import { createSubscriptionService, fieldProblems, type SubscriptionField, type SubscriptionService } from '../store/subscription-service/index.ts';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import { apiError, NOT_AUTHORIZED_MESSAGE } from './api-error.ts';
import type { ApiDependencies, Principal } from './dependencies.ts';

/*
 * The rules REST and GraphQL share, built once per set of dependencies: who may act on an event (EventAccess) and
 * every subscription rule (SubscriptionService). Both interfaces call these; neither checks anything of its own
 * beyond the shape of its wire format.
 */

export interface ApiServices {
  readonly access: EventAccess;
  readonly subscriptions: SubscriptionService;
}

const built = new WeakMap<ApiDependencies, ApiServices>();

export function servicesOf(deps: ApiDependencies): ApiServices {
  let services = built.get(deps);
  if (!services) {
    const isAllowed = deps.auth.isAllowed?.bind(deps.auth);
    const access = createEventAccess({ events: () => deps.events(), isAllowed });
    const subscriptions = createSubscriptionService({
      store: deps.store,
      events: () => deps.events(),
      sinks: () => deps.sinks(),
      access,
      recipientRefusal: deps.recipientRefusal,
      tokenRotation: deps.tokenRotation,
      health: deps.subscriptionHealth,
      publishOrder: deps.publishOrder,
    });
    services = { access, subscriptions };
    built.set(deps, services);
  }
  return services;
}

/**
 * A service refusal in Magento's REST shape: field problems as 400s naming the REST field (every one in `errors`),
 * FORBIDDEN as Magento's "isn't authorized to access %resources" 403. Anything else passes through unchanged.
 */
export function toRestError(thrown: unknown, fieldName: (field: SubscriptionField) => string): unknown {
  const problems = fieldProblems(thrown);
  if (problems && problems.length > 0 && isAsyncEventsError(thrown)) {
    const all = problems.map((p) => ({ message: 'Invalid value of "%fieldName": %reason', parameters: { fieldName: fieldName(p.field), reason: p.reason } }));
    const [first] = all;
    return apiError(thrown.code, first?.message ?? thrown.message, first?.parameters ?? {}, all.length > 1 ? { errors: all } : {});
  }
  if (isAsyncEventsError(thrown, 'FORBIDDEN') && Array.isArray(thrown.details.resources)) {
    return apiError('FORBIDDEN', NOT_AUTHORIZED_MESSAGE, { resources: thrown.details.resources });
  }
  return thrown;
}

/** The same refusal for GraphQL: the first problem, its field named as the client wrote it (`input.recipientUrl`). */
export function toGraphqlInputError(thrown: unknown, fieldName: (field: SubscriptionField) => string): unknown {
  const problems = fieldProblems(thrown);
  const first = problems?.[0];
  if (!first || !isAsyncEventsError(thrown)) return thrown;
  const field = fieldName(first.field);
  return new AsyncEventsError(thrown.code, `Invalid value of "${field}": ${first.reason}`, { field }, { cause: thrown });
}

/** The event a delivery (UUID) belongs to, or undefined when the log has no such delivery. */
export async function deliveryEventName(deps: ApiDependencies, uuid: string): Promise<string | undefined> {
  const chain = await deps.store.log.chain(uuid);
  if (chain) return chain.eventName;
  const [first] = await deps.store.log.attempts(uuid);
  return first?.eventName;
}

/**
 * Throws FORBIDDEN unless the caller may read or replay this delivery (the resources of its event); an unknown
 * UUID passes, so the caller answers its own "not found".
 */
export async function assertMayTouchDelivery(deps: ApiDependencies, principal: Principal, uuid: string): Promise<void> {
  const eventName = await deliveryEventName(deps, uuid);
  if (eventName !== undefined) await servicesOf(deps).access.assertAllowed(principal, eventName);
}
