import { isPermanentCallbackError } from '../magento/callback-error.ts';
import { parseTriggerMessage } from '../queue/publish.ts';
import type { PublishOrderHandler, QueueDelivery } from '../queue/transport.ts';
import type { OrderedChain, NewOrderedChain } from '../store/chain-order.ts';
import type { EventPayload, Subscription } from '../types.ts';
import { coerceError } from '../errors.ts';
import { attemptWithin, isChainEnded } from './attempt.ts';
import { chainUuid } from './chain-id.ts';
import { entityKey, isOrdered } from './entity-order.ts';
import { LANE_WAIT_MS } from './lanes.ts';
import { applySubscriptionRules } from './subscription-rules.ts';
import { handOff, type TriggerHandlerContext } from './trigger-handler.ts';

/*
 * `ordering: "entity"` (issue 16): events whose service arguments are equal (one order, one product) reach the
 * subscription in publish order, across retries. The trigger consumer leaves these subscriptions alone; instead
 * the publish-order reader of the queue (queue/transport.ts `consumeInPublishOrder`, one reader across replicas)
 * hands every trigger here in the order Magento published it, and each becomes a row of the store's chain order
 * (store/chain-order.ts) in that order. Of one group (subscription + entity) only the head, the oldest chain not
 * done, runs: it is started here (Magento's data fetched when its turn comes, the subscription's rules applied, the
 * first attempt made), goes through the retry queue like any chain, and when it ends (delivered, failed, dead,
 * filtered out, or its subscription gone) the next one starts. Other groups flow meanwhile.
 *
 * What can be lost on the way is found by the sweep: a head no process started (a crash after taking it in), a
 * head whose chain ended unseen (a crash before marking it done), a head whose start was cut off. Deliveries may
 * repeat (at-least-once, as everywhere); receivers deduplicate on the chain's webhook-id.
 */

/** How long a taken head may go without news before the sweep looks at it again (a start lost to a crash). */
export const HEAD_STALE_SECONDS = 120;
/** How often the sweep runs. */
export const ORDERED_SWEEP_INTERVAL_MS = 10_000;
/** Triggers taken in per batch: the reader waits for each batch, so a larger one amortises the wait, one insert a chain. */
export const ORDERED_INTAKE_BATCH = 100;
/** Done rows are kept this long, so a trigger handed out again (a redelivery) is recognised and not delivered twice. */
export const DONE_RETENTION_MS = 24 * 3_600_000;

export interface OrderedChains {
  /** The publish-order reader's handler: takes the batch's chains in, in order, then starts the heads among them. */
  readonly intake: PublishOrderHandler;
  /**
   * The trigger consumer met a trigger of ordering subscriptions: where the reader has passed it without handing it
   * out (the database queue passes a gap in its ids after a settle time), it is taken in now, at its group's end.
   */
  triggerSeen(delivery: QueueDelivery, subscriptions: readonly Subscription[], argumentsOf: Readonly<Record<string, unknown>>): Promise<void>;
  /** A chain of an ordering subscription ended: marks it done (durably, before it resolves) and starts the next. */
  chainEnded(uuid: string): Promise<void>;
  /** Starts waiting heads, finishes heads whose chain ended unseen, restarts heads whose start was lost. */
  sweep(now?: Date): Promise<void>;
  /** Deletes done rows past their retention. */
  forgetDone(now?: Date): Promise<number>;
  /** Resolves when the starts in flight are over. */
  drain(): Promise<void>;
}


export function createOrderedChains(base: TriggerHandlerContext): OrderedChains {
  const logger = base.logger.child({ part: 'ordered-chains' });
  const inFlight = new Set<Promise<void>>();
  /** Heads this process is starting: the sweep keeps their claim fresh instead of taking them for lost. */
  const starting = new Set<string>();

  const store = base.store;

  /** Runs a start in the background, kept for drain(); a failure is left to the sweep. */
  function track(start: Promise<void>, subscriptionId: number): void {
    const run = start.catch((error: unknown) => logger.warn({ err: coerceError(error), subscriptionId }, 'starting the next ordered chain failed; the sweep tries again'));
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  }

  function kick(subscriptionId: number, key: string, startedBefore?: Date): void {
    track(startHead(subscriptionId, key, startedBefore), subscriptionId);
  }

  async function startHead(subscriptionId: number, key: string, startedBefore?: Date): Promise<void> {
    const head = await store.chainOrder.claimHead(subscriptionId, key, new Date(), startedBefore);
    if (head) await startClaimed(head);
  }

  async function startClaimed(head: OrderedChain): Promise<void> {
    starting.add(head.uuid);
    try {
      await startChain(head);
    } catch (error) {
      // Worth another try (the store, Magento held past the shutdown, the queue): the head waits again.
      await store.chainOrder.unclaim(head.uuid).catch(() => undefined);
      throw error;
    } finally {
      starting.delete(head.uuid);
    }
  }

  /** Marks the chain done and starts its entity's next one (taken in the same transaction). */
  async function finish(head: Pick<OrderedChain, 'uuid' | 'subscriptionId' | 'entityKey'>, why: string): Promise<void> {
    const { wasDone, next } = await store.chainOrder.finishAndClaimNext(head, new Date());
    if (!wasDone) logger.debug({ uuid: head.uuid, subscriptionId: head.subscriptionId, why }, 'ordered chain done');
    if (next) track(startClaimed(next), next.subscriptionId);
  }

  async function startChain(head: OrderedChain): Promise<void> {
    const subscription = await store.subscriptions.get(head.subscriptionId);
    if (!subscription || !subscription.active) {
      logger.info({ uuid: head.uuid, subscriptionId: head.subscriptionId }, 'ordered chain dropped: subscription disabled or gone');
      return finish(head, 'subscription disabled or gone');
    }
    const chain = await store.log.chain(head.uuid);
    if (chain) {
      // Started before (the claim was lost, not the chain): it ends on its own (retrying through the retry queue,
      // whose losses the overdue sweep covers), or has.
      if (isChainEnded(chain.status)) return finish(head, chain.status);
      return;
    }
    const registry = base.events();
    let trigger;
    try {
      trigger = parseTriggerMessage(head.triggerBody, (name) => registry.has(name));
    } catch (error) {
      logger.warn({ uuid: head.uuid, err: coerceError(error) }, 'ordered chain dropped: its trigger no longer parses');
      return finish(head, 'trigger unusable');
    }
    const event = registry.get(trigger.eventName);
    if (!event) return finish(head, 'event no longer declared');
    let data: string;
    try {
      data = await base.callback.fetchEventData(event, trigger.arguments, trigger.storeId, base.signal);
    } catch (error) {
      const err = coerceError(error);
      if (isPermanentCallbackError(err)) {
        const reason = `Magento callback for ${event.serviceClass}::${event.serviceMethod} failed for ordered subscription ${subscription.id}: ${err.message}`;
        await store.parked.park({ queue: 'event.trigger', body: head.triggerBody, reason });
        return finish(head, 'parked');
      }
      throw err;
    }
    const [started] = applySubscriptionRules(base, [{ subscription, uuid: head.uuid }], { eventName: trigger.eventName, storeId: String(trigger.storeId), data });
    if (!started) return finish(head, 'filtered out');
    const payload: EventPayload = { uuid: head.uuid, eventName: trigger.eventName, storeId: trigger.storeId, data: started.data };
    // A terminal outcome reports back through chainEnded (attempt.ts), which starts the next chain.
    const report = await attemptWithin(ctx, subscription, payload, 0, LANE_WAIT_MS);
    if (!report) await handOff(ctx, subscription, payload);
  }

  async function takeIn(chains: readonly NewOrderedChain[]): Promise<void> {
    if (chains.length === 0) return;
    await store.chainOrder.takeIn(chains);
    const groups = new Map(chains.map((chain) => [`${chain.subscriptionId}#${chain.entityKey}`, chain]));
    for (const chain of groups.values()) kick(chain.subscriptionId, chain.entityKey);
  }

  function chainsOf(delivery: QueueDelivery, subscriptions: readonly Subscription[], args: Readonly<Record<string, unknown>>): NewOrderedChain[] {
    const key = entityKey(args);
    return subscriptions.map((subscription) => ({
      uuid: chainUuid(delivery.messageId, subscription.id, base.chainSalt),
      subscriptionId: subscription.id,
      entityKey: key,
      messageId: delivery.messageId,
      triggerBody: delivery.body,
    }));
  }

  const self: OrderedChains = {
    async intake(batch) {
      const registry = base.events();
      const chains: NewOrderedChain[] = [];
      for (const delivery of batch) {
        let trigger;
        try {
          trigger = parseTriggerMessage(delivery.body, (name) => registry.has(name));
        } catch {
          continue; // the trigger consumer parks it
        }
        const storeId = Number(trigger.storeId);
        const subscriptions = (await store.subscriptions.activeFor(trigger.eventName, Number.isFinite(storeId) ? storeId : 0)).filter(isOrdered);
        chains.push(...chainsOf(delivery, subscriptions, trigger.arguments));
      }
      await takeIn(chains);
    },

    async triggerSeen(delivery, subscriptions, args) {
      if (!(await base.transport.publishOrderPassed(delivery.messageId))) return;
      const late: NewOrderedChain[] = [];
      for (const chain of chainsOf(delivery, subscriptions, args)) {
        if (!(await store.chainOrder.get(chain.uuid))) late.push(chain);
      }
      if (late.length === 0) return;
      logger.warn({ messageId: delivery.messageId, subscriptions: late.map((c) => c.subscriptionId) }, 'trigger committed after the publish-order reader passed it: taken in at the end of its entity\'s order');
      await takeIn(late);
    },

    async chainEnded(uuid) {
      const row = await store.chainOrder.get(uuid);
      if (!row || row.done) return;
      await finish(row, 'chain ended');
    },

    async sweep(now = new Date()) {
      const staleBefore = new Date(now.getTime() - HEAD_STALE_SECONDS * 1000);
      for (const head of await store.chainOrder.heads({ startedBefore: staleBefore, limit: 500 })) {
        if (head.startedAt === null) {
          kick(head.subscriptionId, head.entityKey);
          continue;
        }
        if (starting.has(head.uuid)) {
          await store.chainOrder.touch(head.uuid, now);
          continue;
        }
        // Taken long ago by a start that never finished: taken again, and startChain sorts it out (a dropped
        // subscription, a chain that ended unseen, one still retrying, whose claim the new one refreshes, or none).
        kick(head.subscriptionId, head.entityKey, staleBefore);
      }
    },

    forgetDone: (now = new Date()) => store.chainOrder.forgetDone(new Date(now.getTime() - DONE_RETENTION_MS)),

    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
  // The attempts made here end chains too, so they report back to this same object.
  const ctx: TriggerHandlerContext = { ...base, orderedChains: self };
  return self;
}
