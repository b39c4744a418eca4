import type { MagentoCallback } from '../magento/callback.ts';
import { parseTriggerMessage } from '../queue/publish.ts';
import type { MessageHandler, QueueDelivery } from '../queue/transport.ts';
import type { EventRegistry } from '../types.ts';
import { coerceError, isAsyncEventsError } from '../errors.ts';
import { runAttempt, type AttemptContext } from './attempt.ts';
import { chainUuid } from './chain-id.ts';

export interface TriggerHandlerContext extends AttemptContext {
  readonly events: () => EventRegistry;
  readonly callback: MagentoCallback;
  /** Random per installation, mixed into chain UUIDs (see chain-id.ts). */
  readonly chainSalt: string;
}

/**
 * `event.trigger.consumer`: a trigger message becomes one chain per active subscription of its event. The
 * message is acknowledged (the returned promise resolves) only when every chain's first attempt is logged and its
 * retry scheduled; a fault of the store or the queue rejects, so the message comes back.
 *
 * A message that can never be handled (malformed, unknown event, no REST route, Magento refusing the call) is
 * parked with its reason and acknowledged, so it blocks nothing and stays visible.
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
    const subscriptions = await ctx.store.subscriptions.activeFor(trigger.eventName, Number.isFinite(storeId) ? storeId : 0);
    if (subscriptions.length === 0) return;

    // A redelivered message resumes its own chains: those already past their first attempt are left alone.
    const pending = [];
    for (const subscription of subscriptions) {
      const uuid = chainUuid(delivery.messageId, subscription.id, ctx.chainSalt);
      const chain = delivery.redelivered ? await ctx.store.log.chain(uuid) : undefined;
      if (chain && chain.status !== 'pending') continue;
      pending.push({ subscription, uuid });
    }
    if (pending.length === 0) return;

    let data: string;
    try {
      data = await ctx.callback.fetchEventData(event, trigger.arguments, trigger.storeId);
    } catch (error) {
      const err = coerceError(error);
      if (isAsyncEventsError(err, 'CALLBACK_NO_ROUTE') || isAsyncEventsError(err, 'CALLBACK_FAILED')) {
        ctx.logger.error({ event: trigger.eventName, err }, 'Magento callback failed; message parked');
        await park(ctx, delivery, `Magento callback for ${event.serviceClass}::${event.serviceMethod} failed: ${err.message}`);
        return;
      }
      throw err;
    }

    await Promise.all(
      // The attempt's log write creates the chain row, in the same transaction as its first log row.
      pending.map(({ subscription, uuid }) => runAttempt(ctx, subscription, { uuid, eventName: trigger.eventName, storeId: trigger.storeId, data }, 0)),
    );
  };
}

async function park(ctx: TriggerHandlerContext, delivery: QueueDelivery, reason: string): Promise<void> {
  ctx.logger.warn({ queue: delivery.queue, messageId: delivery.messageId, reason }, 'message parked');
  await ctx.store.parked.park({ queue: delivery.queue, body: delivery.body, reason });
}
