import { z } from 'zod';
import { isAsyncEventsError } from '../errors.ts';
import type { Subscription } from '../types.ts';
import { apiError, NOT_AUTHORIZED_MESSAGE } from './api-error.ts';
import type { ApiDependencies, Principal } from './dependencies.ts';
import { subscriptionDisplaySchema, toDisplay } from './display.ts';
import { defineRoute, type AnyRoute } from './route.ts';
import { searchCriteriaEchoSchema, searchCriteriaSchema, toSubscriptionCriteria } from './search-criteria.ts';
import { fieldError } from './validation.ts';

/*
 * Upstream's four webapi.xml routes (ACL MageOS_AsyncEvents::manage) plus DELETE. Where we differ from upstream
 * (PUT may change more than status and metadata, unknown events and sinks are refused), the README says so.
 */

export const RECIPIENT_MAX_LENGTH = 1024;
/** Magento encrypts the token into varchar(255): nonce + MAC + base64 leave room for about 146 bytes. */
export const TOKEN_MAX_LENGTH = 128;

const subscriptionIdParam = z.strictObject({
  subscriptionId: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number),
});

export const storeIdSchema = z.union(
  [
    z.number().int('must be a whole number').min(0, 'must be 0 or more').max(65535, 'must be at most 65535'),
    z.string().regex(/^\d{1,5}$/, 'must be a whole number from 0 to 65535').transform(Number).refine((n) => n <= 65535, 'must be at most 65535'),
  ],
  { error: 'must be a whole number from 0 to 65535' },
);

const statusSchema = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'true', 'false'])], { error: 'must be true or false' })
  .transform((v) => v === true || v === 1 || v === '1' || v === 'true');

const eventName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
const recipientUrl = z.string().trim().min(1, 'must not be empty').max(RECIPIENT_MAX_LENGTH, `must be at most ${RECIPIENT_MAX_LENGTH} characters`);
const verificationToken = z.string().min(1, 'must not be empty').max(TOKEN_MAX_LENGTH, `must be at most ${TOKEN_MAX_LENGTH} characters`);
const sinkKey = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters');

const createBody = z.strictObject({
  asyncEvent: z.strictObject({
    event_name: eventName,
    recipient_url: recipientUrl,
    verification_token: verificationToken,
    metadata: sinkKey,
    store_id: storeIdSchema.optional(),
    status: statusSchema.optional(),
  }),
});

const updateBody = z.strictObject({
  asyncEvent: z.strictObject({
    subscription_id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)], { error: 'must be the subscription id of the URL' }).optional(),
    event_name: eventName.optional(),
    recipient_url: recipientUrl.optional(),
    verification_token: verificationToken.optional(),
    metadata: sinkKey.optional(),
    store_id: storeIdSchema.optional(),
    status: statusSchema.optional(),
  }),
});

const listQuery = z.strictObject({ searchCriteria: searchCriteriaSchema });
const noQuery = z.strictObject({});

function notFound(id: number) {
  return apiError('SUBSCRIPTION_NOT_FOUND', 'Async event with subscription ID %1 does not exist', [id]);
}

async function findOrFail(deps: ApiDependencies, id: number): Promise<Subscription> {
  const found = await deps.store.subscriptions.get(id);
  if (!found) throw notFound(id);
  return found;
}

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown}, … (${names.length} in all)` : shown || '(none)';
}

/** Checks what zod cannot: the event exists, the sink exists, and the recipient suits the sink. */
async function checkTarget(deps: ApiDependencies, target: { eventName: string; metadata: string; recipientUrl: string }, checkEvent: boolean): Promise<void> {
  if (checkEvent && !deps.events().has(target.eventName)) {
    throw fieldError('asyncEvent.event_name', `no async event "${target.eventName}" is declared in any enabled etc/async_events.xml; known events: ${listSome([...deps.events().keys()].sort())}`);
  }
  const sinks = await deps.sinks();
  if (!sinks.some((s) => s.key === target.metadata)) {
    throw fieldError('asyncEvent.metadata', `unknown sink "${target.metadata}"; available sinks: ${listSome(sinks.map((s) => s.key))}`);
  }
  if (target.metadata === 'http') {
    let url: URL | undefined;
    try {
      url = new URL(target.recipientUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw fieldError('asyncEvent.recipient_url', `"${target.recipientUrl}" is not an absolute http:// or https:// URL, which the http sink needs`);
    }
    if (url.username !== '' || url.password !== '') {
      throw fieldError('asyncEvent.recipient_url', 'must not contain credentials (user:password@); sign deliveries with verification_token instead');
    }
  }
}

/**
 * Upstream's validateResources: subscribing to an event (or redirecting its deliveries) needs every ACL resource
 * the event's `<resources>` lists, since the deliveries carry that data.
 */
async function checkEventResources(deps: ApiDependencies, principal: Principal, eventName: string): Promise<void> {
  const resources = deps.events().get(eventName)?.resources ?? [];
  if (resources.length === 0 || !deps.auth.isAllowed) return;
  if ((await deps.auth.isAllowed(principal, resources)) === false) {
    throw apiError('FORBIDDEN', NOT_AUTHORIZED_MESSAGE, { resources: [...resources] });
  }
}

export function subscriptionRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/V1/async_event/:subscriptionId',
      summary: 'Get one subscription',
      origin: 'upstream',
      params: subscriptionIdParam,
      query: noQuery,
      response: subscriptionDisplaySchema,
      async handler({ params, deps }) {
        return toDisplay(await findOrFail(deps, params.subscriptionId));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events',
      summary: 'List subscriptions with Magento searchCriteria',
      description: 'Filters inside a filter group are OR-ed, groups are AND-ed (Magento semantics). Without pageSize every match is returned.',
      origin: 'upstream',
      params: z.strictObject({}),
      query: listQuery,
      response: z.strictObject({ items: z.array(subscriptionDisplaySchema), search_criteria: searchCriteriaEchoSchema, total_count: z.number().int() }),
      async handler({ query, deps }) {
        const { criteria, echo } = toSubscriptionCriteria(query.searchCriteria);
        const { items, totalCount } = await deps.store.subscriptions.list(criteria);
        return { items: items.map(toDisplay), search_criteria: echo, total_count: totalCount };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/V1/async_event',
      summary: 'Create a subscription',
      description: 'The event must be declared in an enabled async_events.xml and `metadata` must name a sink. New subscriptions are active unless `status` is false.',
      origin: 'upstream',
      params: z.strictObject({}),
      query: noQuery,
      body: createBody,
      response: subscriptionDisplaySchema,
      async handler({ body, deps, principal }) {
        const input = body.asyncEvent;
        await checkTarget(deps, { eventName: input.event_name, metadata: input.metadata, recipientUrl: input.recipient_url }, true);
        await checkEventResources(deps, principal, input.event_name);
        const created = await deps.store.subscriptions.create({
          eventName: input.event_name,
          recipientUrl: input.recipient_url,
          verificationToken: input.verification_token,
          metadata: input.metadata,
          storeId: input.store_id ?? 0,
          active: input.status ?? true,
        });
        return toDisplay(created);
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/V1/async_event/:subscriptionId',
      summary: 'Change a subscription',
      description: 'May change recipient_url, verification_token, metadata, status and store_id. event_name and subscription_id, when sent, must equal the stored ones.',
      origin: 'upstream',
      params: subscriptionIdParam,
      query: noQuery,
      body: updateBody,
      response: subscriptionDisplaySchema,
      async handler({ params, body, deps, principal }) {
        const input = body.asyncEvent;
        const id = params.subscriptionId;
        if (input.subscription_id !== undefined && input.subscription_id !== id) {
          throw fieldError('asyncEvent.subscription_id', `is ${input.subscription_id} but the URL names subscription ${id}`);
        }
        const current = await findOrFail(deps, id);
        if (input.event_name !== undefined && input.event_name !== current.eventName) {
          throw fieldError('asyncEvent.event_name', `cannot change from "${current.eventName}"; create a new subscription for "${input.event_name}" instead`);
        }
        const patch = {
          ...(input.recipient_url !== undefined ? { recipientUrl: input.recipient_url } : {}),
          ...(input.verification_token !== undefined ? { verificationToken: input.verification_token } : {}),
          ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
          ...(input.store_id !== undefined ? { storeId: input.store_id } : {}),
          ...(input.status !== undefined ? { active: input.status } : {}),
        };
        if (Object.keys(patch).length === 0 && input.event_name === undefined && input.subscription_id === undefined) {
          throw fieldError('asyncEvent', 'names nothing to change; send one or more of recipient_url, verification_token, metadata, status, store_id');
        }
        await checkEventResources(deps, principal, current.eventName);
        if (patch.recipientUrl !== undefined || patch.metadata !== undefined) {
          await checkTarget(deps, { eventName: current.eventName, metadata: patch.metadata ?? current.metadata, recipientUrl: patch.recipientUrl ?? current.recipientUrl }, false);
        }
        try {
          return toDisplay(Object.keys(patch).length === 0 ? current : await deps.store.subscriptions.update(id, patch));
        } catch (error) {
          if (isAsyncEventsError(error, 'SUBSCRIPTION_NOT_FOUND')) throw notFound(id);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/V1/async_event/:subscriptionId',
      summary: 'Delete a subscription',
      origin: 'async-events',
      params: subscriptionIdParam,
      query: noQuery,
      response: z.literal(true),
      async handler({ params, deps }) {
        if (!(await deps.store.subscriptions.delete(params.subscriptionId))) throw notFound(params.subscriptionId);
        return true as const;
      },
    }),
  ];
}
