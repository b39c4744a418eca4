import { z } from 'zod';
import type { Subscription } from '../types.ts';

/** Magento's REST date format, in UTC: `YYYY-MM-DD HH:MM:SS`. */
export function formatMagentoDate(date: Date | null): string | null {
  if (date === null || Number.isNaN(date.getTime())) return null;
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Upstream's `AsyncEventDisplayInterface` plus `store_id`, as its api-functional test reads them. The verification
 * token and the sink key (`metadata`) are never part of a response: this is the only shape a subscription leaves in.
 */
export const subscriptionDisplaySchema = z.strictObject({
  subscription_id: z.number().int(),
  event_name: z.string(),
  recipient_url: z.string(),
  status: z.boolean(),
  subscribed_at: z.string().nullable(),
  store_id: z.number().int(),
});

export type SubscriptionDisplay = z.output<typeof subscriptionDisplaySchema>;

export function toDisplay(subscription: Subscription): SubscriptionDisplay {
  return {
    subscription_id: subscription.id,
    event_name: subscription.eventName,
    recipient_url: subscription.recipientUrl,
    status: subscription.active,
    subscribed_at: formatMagentoDate(subscription.subscribedAt),
    store_id: subscription.storeId,
  };
}
