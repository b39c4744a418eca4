import { parseRetryMessage } from '../queue/publish.ts';
import type { MessageHandler } from '../queue/transport.ts';
import { isAsyncEventsError } from '../errors.ts';
import { runAttempt, type AttemptContext } from './attempt.ts';
import { payloadFromRetryContent } from './retry-content.ts';

/**
 * `event.retry.consumer`: one retry message is one more attempt of its chain. Messages the PHP module left in
 * `event.failover.retry` have the same shape and are handled the same way. Like upstream, a retry for a disabled
 * or deleted subscription is dropped (logged); a malformed one is parked.
 */
export function createRetryHandler(ctx: AttemptContext): MessageHandler {
  return async (delivery) => {
    let retry;
    try {
      retry = parseRetryMessage(delivery.body);
    } catch (error) {
      if (isAsyncEventsError(error, 'MESSAGE_MALFORMED')) {
        ctx.logger.warn({ queue: delivery.queue, reason: error.message }, 'retry message parked');
        await ctx.store.parked.park({ queue: delivery.queue, body: delivery.body, reason: error.message });
        return;
      }
      throw error;
    }
    const subscription = await ctx.store.subscriptions.get(retry.subscription_id);
    if (!subscription || !subscription.active) {
      ctx.logger.info({ uuid: retry.uuid, subscriptionId: retry.subscription_id }, 'retry dropped: subscription disabled or gone');
      return;
    }
    const chain = await ctx.store.log.chain(retry.uuid);
    const payload = payloadFromRetryContent(retry.content, {
      uuid: retry.uuid,
      eventName: chain?.eventName ?? subscription.eventName,
      storeId: chain?.storeId ?? String(subscription.storeId),
    });
    await runAttempt(ctx, subscription, payload, retry.death_count);
  };
}
