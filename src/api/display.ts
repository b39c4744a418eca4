import { z } from 'zod';
import { SUBSCRIPTION_ORDERINGS, type Subscription } from '../types.ts';

/** Magento's REST date format, in UTC: `YYYY-MM-DD HH:MM:SS`. */
export function formatMagentoDate(date: Date | null): string | null {
  if (date === null || Number.isNaN(date.getTime())) return null;
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Upstream's `AsyncEventDisplayInterface` plus `store_id`, as its api-functional test reads them. The verification
 * token and the sink key (`metadata`) are never part of a response: this is the only shape a subscription leaves in.
 * Extra header values are shown: they are the receiver's settings the subscriber gave, visible to whoever may manage
 * the subscription (the same ACL), and the console edits them.
 */
export const subscriptionDisplaySchema = z.strictObject({
  subscription_id: z.number().int(),
  event_name: z.string(),
  recipient_url: z.string(),
  status: z.boolean(),
  subscribed_at: z.string().nullable(),
  store_id: z.number().int(),
  // Our rules, present only when set (upstream's shape is unchanged for a subscription without any).
  filter: z.string().optional(),
  fields: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  max_per_second: z.number().optional(),
  ordering: z.enum(SUBSCRIPTION_ORDERINGS).optional(),
});

export type SubscriptionDisplay = z.output<typeof subscriptionDisplaySchema>;

export function toDisplay(subscription: Subscription): SubscriptionDisplay {
  const rules = subscription.rules ?? {};
  return {
    subscription_id: subscription.id,
    event_name: subscription.eventName,
    recipient_url: subscription.recipientUrl,
    status: subscription.active,
    subscribed_at: formatMagentoDate(subscription.subscribedAt),
    store_id: subscription.storeId,
    ...(rules.filter !== undefined ? { filter: rules.filter } : {}),
    ...(rules.fields !== undefined ? { fields: rules.fields } : {}),
    ...(rules.headers !== undefined ? { headers: { ...rules.headers } } : {}),
    ...(rules.maxPerSecond !== undefined ? { max_per_second: rules.maxPerSecond } : {}),
    ...(rules.ordering !== undefined ? { ordering: rules.ordering } : {}),
  };
}
