import { coerceError } from '../errors.ts';
import { encodeRetryMessage } from '../queue/publish.ts';
import type { Subscription } from '../types.ts';
import type { AttemptContext } from './attempt.ts';
import { chainContent } from './attempt.ts';

/**
 * The overdue sweep: a chain whose retry is long past due has lost its retry message. A RabbitMQ restart in the
 * middle of a run was seen to leave chains with no message in any queue (the chaos suite, before this sweep), and
 * the chain's row, not the broker, is the durable record of what is owed. The sweep puts such a chain's next
 * attempt straight onto `event.failover.retry`, past upstream's delay queues.
 *
 * A chain that is only late (a backlog) gets a second copy, which the retry handler drops as stale once the first
 * has moved the chain on (death counts), so the cost of a false alarm is one duplicate message, never a fork.
 * Each chain's due time is claimed with a compare-and-set, so replicas sweeping at once send one copy between them.
 */
export interface OverdueSweepOptions {
  /** How far past its due time a chain must be before its message counts as lost. */
  readonly graceSeconds: number;
  /** Chains looked at per sweep. */
  readonly batch?: number;
  /** Called with how many chains were sent again (metric). */
  readonly onRequeued?: (count: number) => void;
}

export const DEFAULT_OVERDUE_GRACE_SECONDS = 120;
export const OVERDUE_SWEEP_INTERVAL_MS = 30_000;

/** One sweep; returns how many chains were sent again. */
export async function sweepOverdueChains(ctx: AttemptContext, options: OverdueSweepOptions, now = new Date()): Promise<number> {
  const overdue = await ctx.store.log.overdueChains({ dueBefore: new Date(now.getTime() - options.graceSeconds * 1000), limit: options.batch ?? 500 });
  let requeued = 0;
  // Overdue chains bunch up by subscription (one recipient's lost burst): each is read once per sweep.
  const subscriptions = new Map<number, Promise<Subscription | undefined>>();
  for (const chain of overdue) {
    if (!chain.nextAttemptAt) continue;
    try {
      let lookup = subscriptions.get(chain.subscriptionId);
      if (!lookup) {
        lookup = ctx.store.subscriptions.get(chain.subscriptionId);
        subscriptions.set(chain.subscriptionId, lookup);
      }
      const subscription = await lookup;
      // A disabled or deleted subscription's retries are dropped (as upstream does): nothing is owed, stop looking.
      if (!subscription || !subscription.active) {
        await ctx.store.log.claimOverdue(chain.uuid, chain.nextAttemptAt, null);
        continue;
      }
      const content = await chainContent(ctx, chain);
      if (content === undefined) {
        ctx.logger.warn({ uuid: chain.uuid }, 'overdue chain has no stored payload to send again; left as it is');
        await ctx.store.log.claimOverdue(chain.uuid, chain.nextAttemptAt, null);
        continue;
      }
      // Due again from now: if this copy is lost too, the next sweep after the grace period tries once more.
      if (!(await ctx.store.log.claimOverdue(chain.uuid, chain.nextAttemptAt, now))) continue;
      await ctx.transport.requeue('event.failover.retry', encodeRetryMessage({ subscription_id: subscription.id, death_count: chain.deathCount, content, uuid: chain.uuid }));
      requeued++;
      ctx.logger.debug({ uuid: chain.uuid, status: chain.status, deathCount: chain.deathCount, dueAt: chain.nextAttemptAt }, 'overdue chain sent again');
    } catch (error) {
      ctx.logger.warn({ err: coerceError(error), uuid: chain.uuid }, 'could not send an overdue chain again; the next sweep retries');
    }
  }
  await ctx.store.log.forgetHeldContents();
  if (requeued > 0) {
    ctx.logger.warn(
      { requeued, graceSeconds: options.graceSeconds },
      `sent ${requeued} chain(s) again whose retry was overdue by more than ${options.graceSeconds} s: their retry messages were lost (a RabbitMQ restart?)`,
    );
    options.onRequeued?.(requeued);
  }
  return requeued;
}
