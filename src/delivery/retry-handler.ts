import { parseRetryMessage } from '../queue/publish.ts';
import type { MessageHandler } from '../queue/transport.ts';
import { isAsyncEventsError } from '../errors.ts';
import { attemptWithin, continueLoggedChain, isChainEnded, type AttemptContext } from './attempt.ts';
import { createKeyedMutex, LANE_FULL_DELAY_SECONDS, LANE_WAIT_MS, POSTPONE_AHEAD_SECONDS } from './lanes.ts';
import { payloadFromRetryContent } from './retry-content.ts';

/**
 * `event.retry.consumer`: one retry message is one more attempt of its chain. Messages the PHP module left in
 * `event.failover.retry` have the same shape and are handled the same way. Like upstream, a retry for a disabled
 * or deleted subscription is dropped (logged); a malformed one is parked.
 *
 * A retry is the chain's next attempt only while the chain's logged death count is the message's: a copy of a
 * retry already taken (scheduled twice around a crash) finds the chain moved on and is dropped, so a chain never
 * forks. Copies of one chain are handled one at a time in this process for the same reason.
 */
export function createRetryHandler(ctx: AttemptContext): MessageHandler {
  const exclusive = createKeyedMutex();
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
    await exclusive(retry.uuid, async () => {
      const chain = await ctx.store.log.chain(retry.uuid);
      const ended = chain !== undefined && isChainEnded(chain.status);
      if (chain && (ended || chain.deathCount > retry.death_count)) {
        // Redelivered after its attempt was logged: make sure the chain's continuation exists. Otherwise a stale copy.
        if (!(delivery.redelivered && (await continueLoggedChain(ctx, subscription, chain, retry.death_count)))) {
          ctx.logger.debug({ uuid: retry.uuid, deathCount: retry.death_count, chainDeathCount: chain.deathCount, status: chain.status }, 'stale retry dropped: its chain moved on');
        }
        return;
      }
      const payload = payloadFromRetryContent(retry.content, {
        uuid: retry.uuid,
        eventName: chain?.eventName ?? subscription.eventName,
        storeId: chain?.storeId ?? String(subscription.storeId),
      });
      if (!(await attemptWithin(ctx, subscription, payload, retry.death_count, LANE_WAIT_MS))) {
        // Its recipient is slow: waiting longer would hold a prefetch slot other subscriptions' retries need.
        // Its due time moves with it, or the overdue sweep would take the wait for a lost message; a minute ahead at a
        // time, so a long wait costs one write a minute, not one per put-off.
        const now = Date.now();
        if (chain?.nextAttemptAt && !ctx.transport.keepsScheduledRetries && chain.nextAttemptAt.getTime() < now + LANE_FULL_DELAY_SECONDS * 1000) {
          await ctx.store.log.postponeChain(retry.uuid, new Date(now + POSTPONE_AHEAD_SECONDS * 1000));
        }
        await ctx.transport.scheduleRetry(retry, LANE_FULL_DELAY_SECONDS);
        ctx.logger.debug({ uuid: retry.uuid, deathCount: retry.death_count }, 'lane full: retry put off');
      }
    });
  };
}
