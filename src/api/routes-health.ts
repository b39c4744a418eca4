import { z } from 'zod';
import { isAsyncEventsError } from '../errors.ts';
import type { SubscriptionHealth } from '../store/subscription-service/index.ts';
import { apiError } from './api-error.ts';
import { formatMagentoDate } from './display.ts';
import { defineRoute, type AnyRoute } from './route.ts';
import { servicesOf } from './services.ts';

/*
 * Subscription health (ours): one subscription's, or those of a page of subscriptions (the console's table).
 * Upstream's subscription routes keep upstream's display fields exactly; health is read here instead.
 * The figures are the subscription service's (src/store/subscription-service/health.ts).
 */

const MAX_IDS = 200;

const countsSchema = z.strictObject({ succeeded: z.number().int(), failed: z.number().int() });

export const healthSchema = z.strictObject({
  subscription_id: z.number().int(),
  status: z.enum(['healthy', 'failing', 'disabled', 'idle']),
  consecutive_failures: z.number().int(),
  last_success_at: z.string().nullable(),
  last_failure: z.strictObject({ at: z.string().nullable(), status_code: z.number().int().nullable(), response: z.string() }).nullable(),
  success_rate: z.strictObject({ last_hour: z.number().nullable(), last_day: z.number().nullable() }),
  attempts: z.strictObject({ last_hour: countsSchema, last_day: countsSchema }),
  in_flight: z.number().int(),
  filtered_out: z.number().int(),
  disabled_reason: z.string().nullable(),
  disabled_at: z.string().nullable(),
  hourly: z.array(z.strictObject({ hour: z.string().nullable(), succeeded: z.number().int(), failed: z.number().int(), chains_failed: z.number().int() })),
});

export function toHealthDisplay(health: SubscriptionHealth): z.input<typeof healthSchema> {
  return {
    subscription_id: health.subscriptionId,
    status: health.status,
    consecutive_failures: health.consecutiveFailures,
    last_success_at: formatMagentoDate(health.lastSuccessAt),
    last_failure: health.lastFailure ? { at: formatMagentoDate(health.lastFailure.at), status_code: health.lastFailure.statusCode, response: health.lastFailure.response } : null,
    success_rate: { last_hour: health.successRate.lastHour, last_day: health.successRate.lastDay },
    attempts: { last_hour: { ...health.attempts.lastHour }, last_day: { ...health.attempts.lastDay } },
    in_flight: health.inFlight,
    filtered_out: health.filteredOut,
    disabled_reason: health.disabledReason,
    disabled_at: formatMagentoDate(health.disabledAt),
    hourly: health.hourly.map((b) => ({ hour: formatMagentoDate(b.hourStart), succeeded: b.succeeded, failed: b.failed, chains_failed: b.chainsFailed })),
  };
}

const idsQuery = z.strictObject({
  ids: z
    .string()
    .regex(/^[1-9]\d{0,9}(,[1-9]\d{0,9})*$/, 'must be subscription ids separated by commas, e.g. 1,2,3')
    .transform((v) => [...new Set(v.split(',').map(Number))])
    .refine((ids) => ids.length <= MAX_IDS, `must name at most ${MAX_IDS} subscriptions`),
});

export function healthRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/subscriptions/:subscriptionId/health',
      summary: 'Delivery health of one subscription',
      description:
        'Consecutive failed chains, last success, last failure with its response, success rate over the last hour and day (attempts; sliding windows over hourly buckets), attempts in flight in this process, why it was disabled, and the last 24 hours.',
      origin: 'async-events',
      params: z.strictObject({ subscriptionId: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number) }),
      query: z.strictObject({}),
      response: healthSchema,
      async handler({ params, deps }) {
        try {
          return toHealthDisplay(await servicesOf(deps).subscriptions.health(params.subscriptionId));
        } catch (error) {
          if (isAsyncEventsError(error, 'SUBSCRIPTION_NOT_FOUND')) throw apiError('SUBSCRIPTION_NOT_FOUND', 'Async event with subscription ID %1 does not exist', [params.subscriptionId]);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/V1/async_events/subscriptions/health',
      summary: 'Delivery health of several subscriptions (ids=1,2,3); ids that do not exist are left out',
      origin: 'async-events',
      params: z.strictObject({}),
      query: idsQuery,
      response: z.strictObject({ items: z.array(healthSchema) }),
      async handler({ query, deps }) {
        const { items } = await deps.store.subscriptions.list({ filterGroups: [[{ field: 'subscription_id', condition: 'in', value: query.ids.join(',') }]] });
        const health = await servicesOf(deps).subscriptions.healthOf(items);
        return {
          items: items.flatMap((s) => {
            const found = health.get(s.id);
            return found ? [toHealthDisplay(found)] : [];
          }),
        };
      },
    }),
  ];
}
