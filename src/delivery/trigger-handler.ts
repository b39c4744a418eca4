import type { MagentoCallback } from '../magento/callback.ts';
import { isPermanentCallbackError } from '../magento/callback-error.ts';
import { parseTriggerMessage } from '../queue/publish.ts';
import type { MessageHandler, QueueDelivery } from '../queue/transport.ts';
import type { EventPayload, EventRegistry, Subscription } from '../types.ts';
import { coerceError, isAsyncEventsError } from '../errors.ts';
import { attemptWithin, continueLoggedChain, type AttemptContext } from './attempt.ts';
import { chainUuid } from './chain-id.ts';
import { isOrdered } from './entity-order.ts';
import { HAND_OFF_DELAY_SECONDS, LANE_WAIT_MS } from './lanes.ts';
import { retryContent } from './retry-content.ts';
import { applySubscriptionRules } from './subscription-rules.ts';

export interface TriggerHandlerContext extends AttemptContext {
  readonly events: () => EventRegistry;
  /** Holds the message through Magento outages (see magento/outage-breaker.ts); throws only permanent answers. */
  readonly callback: MagentoCallback;
  /** Random per installation, mixed into chain UUIDs (see chain-id.ts). */
  readonly chainSalt: string;
}

/**
 * `event.trigger.consumer`: a trigger message becomes one chain per active subscription of its event. The
 * message is acknowledged (the returned promise resolves) once every chain's first attempt is durably due: either
 * done (logged, its retry scheduled) or, when its subscription's lane is full of slow deliveries, handed to the
 * retry queue as an attempt with death count 0, so that no recipient holds the trigger (and with it every other
 * subscription) behind it. A healthy lane attempts at once and writes nothing more than the attempt itself.
 * A fault of the store or the queue rejects, so the message comes back.
 *
 * Magento failing for a while (down, 503, resets, 401/403) holds the message inside the callback until Magento
 * answers. A message that can never be handled (malformed, unknown event, no REST route, Magento's permanent answer)
 * is parked with its reason and acknowledged, so it blocks nothing and stays visible.
 */
export function createTriggerHandler(ctx: TriggerHandlerContext): MessageHandler {
  return async (delivery: QueueDelivery) => {
    const registry = ctx.events();
    let trigger;
    try {
      trigger = parseTriggerMessage(delivery.body, (name) => registry.has(name));
    } catch (error) {
      if (isAsyncEventsError(error, 'MESSAGE_MALFORMED') || isAsyncEventsError(error, 'EVENT_UNKNOWN')) {
        await park(ctx, delivery, error.message);
        return;
      }
      throw error;
    }
    const event = registry.get(trigger.eventName);
    if (!event) {
      await park(ctx, delivery, `Unknown event "${trigger.eventName}": no enabled module declares it in etc/async_events.xml`);
      return;
    }
    const storeId = Number(trigger.storeId);
    const all = await ctx.store.subscriptions.activeFor(trigger.eventName, Number.isFinite(storeId) ? storeId : 0);
    // Ordering subscriptions get their chains from the publish-order reader (ordered-chains.ts), in publish order.
    const ordered = all.filter(isOrdered);
    const subscriptions = ordered.length === 0 ? all : all.filter((subscription) => !isOrdered(subscription));
    if (ordered.length > 0) await ctx.orderedChains?.triggerSeen(delivery, ordered, trigger.arguments);
    if (subscriptions.length === 0) return;

    // A redelivered message resumes its own chains: those already past their first attempt are left alone, except
    // that a first attempt logged without its retry (a crash in between) gets that retry now.
    const pending: { subscription: Subscription; uuid: string }[] = [];
    for (const subscription of subscriptions) {
      const uuid = chainUuid(delivery.messageId, subscription.id, ctx.chainSalt);
      const chain = delivery.redelivered ? await ctx.store.log.chain(uuid) : undefined;
      if (chain && chain.status !== 'pending') {
        await continueLoggedChain(ctx, subscription, chain, 0);
        continue;
      }
      pending.push({ subscription, uuid });
    }
    if (pending.length === 0) return;

    let data: string;
    try {
      data = await ctx.callback.fetchEventData(event, trigger.arguments, trigger.storeId, ctx.signal);
    } catch (error) {
      const err = coerceError(error);
      if (isPermanentCallbackError(err)) {
        ctx.logger.error({ event: trigger.eventName, err }, 'Magento callback failed; message parked');
        await park(ctx, delivery, `Magento callback for ${event.serviceClass}::${event.serviceMethod} failed: ${err.message}`);
        return;
      }
      throw err;
    }

    // Filters and field selections (subscription-rules.ts): a filtered-out chain does not start.
    const starting = applySubscriptionRules(ctx, pending, { eventName: trigger.eventName, storeId: String(trigger.storeId), data });
    const results = await Promise.allSettled(
      starting.map(async ({ subscription, uuid, data: selected }) => {
        const payload: EventPayload = { uuid, eventName: trigger.eventName, storeId: trigger.storeId, data: selected };
        // The attempt's log write creates the chain row, in the same transaction as its first log row. A lane still
        // full after a short wait is held by slow deliveries: the chain is handed off instead of holding the trigger.
        const report = await attemptWithin(ctx, subscription, payload, 0, LANE_WAIT_MS);
        if (!report) await handOff(ctx, subscription, payload);
      }),
    );
    // Every chain settled before the message is handed back, so none is left half-done behind a rejection.
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw coerceError(failed.reason);
  };
}

/**
 * Hands a chain whose lane is full to the retry queue as its first attempt. Where the transport may lose the
 * message, the chain is written first, pending with its content, so that the overdue sweep (overdue-chains.ts) can
 * send it again.
 */
export async function handOff(ctx: AttemptContext, subscription: Subscription, payload: EventPayload): Promise<void> {
  const content = retryContent(payload, ctx.format);
  const uuid = payload.uuid;
  const nextAttemptAt = new Date(Date.now() + HAND_OFF_DELAY_SECONDS * 1000);
  if (!ctx.transport.keepsScheduledRetries) {
    await ctx.store.log.holdChain({ uuid, subscriptionId: subscription.id, eventName: payload.eventName, storeId: String(payload.storeId), nextAttemptAt, content });
  }
  await ctx.transport.scheduleRetry({ subscription_id: subscription.id, death_count: 0, content, uuid }, HAND_OFF_DELAY_SECONDS);
  ctx.logger.debug({ uuid, subscriptionId: subscription.id }, 'lane full: chain handed to the retry queue');
}

async function park(ctx: TriggerHandlerContext, delivery: QueueDelivery, reason: string): Promise<void> {
  ctx.logger.warn({ queue: delivery.queue, messageId: delivery.messageId, reason }, 'message parked');
  await ctx.store.parked.park({ queue: delivery.queue, body: delivery.body, reason });
}
