import { z } from 'zod';
import { isAsyncEventsError } from '../errors.ts';
import type { Subscription } from '../types.ts';
import { subscriptionFields } from '../store/subscription-service/input.ts';
import type { SubscriptionField } from '../store/subscription-service/index.ts';
import { apiError } from './api-error.ts';
import type { ApiDependencies } from './dependencies.ts';
import { subscriptionDisplaySchema, toDisplay } from './display.ts';
import { defineRoute, type AnyRoute } from './route.ts';
import { searchCriteriaEchoSchema, searchCriteriaSchema, toSubscriptionCriteria } from './search-criteria.ts';
import { servicesOf, toRestError } from './services.ts';
import { fieldError } from './validation.ts';

/*
 * Upstream's four webapi.xml routes (ACL MageOS_AsyncEvents::manage) plus DELETE. Where we differ from upstream
 * (PUT may change more than status and metadata, unknown events and sinks are refused), the README says so.
 * Every rule is the subscription service's (src/store/subscription-service); these routes translate its wire format.
 */

const subscriptionIdParam = z.strictObject({
  subscriptionId: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number),
});

/** Magento sends numbers as strings as often as not; the range is the subscription service's rule. */
export const storeIdSchema = z
  .union([z.number(), z.string().regex(/^\d{1,5}$/, 'must be a whole number from 0 to 65535').transform(Number)], { error: 'must be a whole number from 0 to 65535' })
  .pipe(subscriptionFields.storeId);

/** A rate as a number or Magento's string spelling of one; the range is the subscription service's rule. */
const maxPerSecondSchema = z
  .union([z.number(), z.string().regex(/^\d+(\.\d+)?$/, 'must be a positive number of deliveries per second').transform(Number)], { error: 'must be a positive number of deliveries per second' })
  .pipe(subscriptionFields.maxPerSecond);

/** Our rules in `asyncEvent` (upstream has none): each optional, null removes it. */
const ruleFields = {
  filter: subscriptionFields.filter.nullable().optional(),
  fields: subscriptionFields.fields.nullable().optional(),
  headers: subscriptionFields.headers.nullable().optional(),
  max_per_second: maxPerSecondSchema.nullable().optional(),
  ordering: subscriptionFields.ordering.nullable().optional(),
};

type RestRules = { readonly [K in keyof typeof ruleFields]?: z.output<(typeof ruleFields)[K]> };

function restRules(input: RestRules) {
  return {
    ...(input.filter !== undefined ? { filter: input.filter } : {}),
    ...(input.fields !== undefined ? { fields: input.fields } : {}),
    ...(input.headers !== undefined ? { headers: input.headers } : {}),
    ...(input.max_per_second !== undefined ? { maxPerSecond: input.max_per_second } : {}),
    ...(input.ordering !== undefined ? { ordering: input.ordering } : {}),
  };
}

const statusSchema = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'true', 'false'])], { error: 'must be true or false' })
  .transform((v) => v === true || v === 1 || v === '1' || v === 'true');

/*
 * The wire shape (upstream's field names, Magento's string-or-number values). The value rules are the subscription
 * service's own schema pieces, so REST reports every bad field at once and OpenAPI documents them; the service
 * checks them again with the rest of its rules, once for every interface.
 */
const createBody = z.strictObject({
  asyncEvent: z.strictObject({
    event_name: subscriptionFields.eventName,
    recipient_url: subscriptionFields.recipientUrl,
    verification_token: subscriptionFields.verificationToken,
    metadata: subscriptionFields.sink,
    store_id: storeIdSchema.optional(),
    status: statusSchema.optional(),
    ...ruleFields,
  }),
});

const updateBody = z.strictObject({
  asyncEvent: z.strictObject({
    subscription_id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)], { error: 'must be the subscription id of the URL' }).optional(),
    event_name: subscriptionFields.eventName.optional(),
    recipient_url: subscriptionFields.recipientUrl.optional(),
    verification_token: subscriptionFields.verificationToken.optional(),
    metadata: subscriptionFields.sink.optional(),
    store_id: storeIdSchema.optional(),
    status: statusSchema.optional(),
    ...ruleFields,
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

const REST_FIELD: Readonly<Record<SubscriptionField, string>> = {
  eventName: 'asyncEvent.event_name',
  recipientUrl: 'asyncEvent.recipient_url',
  verificationToken: 'asyncEvent.verification_token',
  sink: 'asyncEvent.metadata',
  storeId: 'asyncEvent.store_id',
  active: 'asyncEvent.status',
  filter: 'asyncEvent.filter',
  fields: 'asyncEvent.fields',
  headers: 'asyncEvent.headers',
  maxPerSecond: 'asyncEvent.max_per_second',
  ordering: 'asyncEvent.ordering',
  subscriptionId: 'subscriptionId',
  subscription: 'asyncEvent',
};

/** Runs a service call, answering its refusals in upstream's words and field names. */
async function inRestTerms<T>(id: number | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    if (id !== undefined && isAsyncEventsError(thrown, 'SUBSCRIPTION_NOT_FOUND')) throw notFound(id);
    throw toRestError(thrown, (field) => REST_FIELD[field]);
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
      description:
        'The event must be declared in an enabled async_events.xml, or be a pattern (`sales.order.*`) matching one, and `metadata` must name a sink. New subscriptions are active unless `status` is false. Optional rules: `filter` (a search query over the data), `fields` (Magento REST fields selection), `headers` (extra http headers), `max_per_second`, `ordering` ("entity": one entity\'s events in publish order; fixed once created).',
      origin: 'upstream',
      params: z.strictObject({}),
      query: noQuery,
      body: createBody,
      response: subscriptionDisplaySchema,
      async handler({ body, deps, principal }) {
        const input = body.asyncEvent;
        const created = await inRestTerms(undefined, () =>
          servicesOf(deps).subscriptions.create(principal, {
            eventName: input.event_name,
            recipientUrl: input.recipient_url,
            verificationToken: input.verification_token,
            sink: input.metadata,
            ...(input.store_id !== undefined ? { storeId: input.store_id } : {}),
            ...(input.status !== undefined ? { active: input.status } : {}),
            ...restRules(input),
          }),
        );
        return toDisplay(created);
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/V1/async_event/:subscriptionId',
      summary: 'Change a subscription',
      description:
        'May change recipient_url, verification_token, metadata, status, store_id and the rules (filter, fields, headers, max_per_second; null removes one; ordering cannot change). event_name and subscription_id, when sent, must equal the stored ones. A replaced verification_token keeps signing beside the new one for system/async_events/token_rotation_grace_hours (default 24).',
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
        const change = {
          ...(input.event_name !== undefined ? { eventName: input.event_name } : {}),
          ...(input.recipient_url !== undefined ? { recipientUrl: input.recipient_url } : {}),
          ...(input.verification_token !== undefined ? { verificationToken: input.verification_token } : {}),
          ...(input.metadata !== undefined ? { sink: input.metadata } : {}),
          ...(input.store_id !== undefined ? { storeId: input.store_id } : {}),
          ...(input.status !== undefined ? { active: input.status } : {}),
          ...restRules(input),
        };
        // Upstream clients send the object back with only its id; that changes nothing and is not an error.
        if (Object.keys(change).length === 0 && input.subscription_id !== undefined) return toDisplay(await findOrFail(deps, id));
        return toDisplay(await inRestTerms(id, () => servicesOf(deps).subscriptions.update(principal, id, change)));
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
      async handler({ params, deps, principal }) {
        await inRestTerms(params.subscriptionId, () => servicesOf(deps).subscriptions.delete(principal, params.subscriptionId));
        return true as const;
      },
    }),
  ];
}
