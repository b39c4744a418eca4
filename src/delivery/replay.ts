import { AsyncEventsError } from '../errors.ts';
import { runAttempt, type AttemptContext, type AttemptReport } from './attempt.ts';
import { payloadFromSerializedData } from './retry-content.ts';

/**
 * Replays a chain: a new chain under the same UUID, starting with an immediate attempt and then the usual retries.
 * The payload is what the chain's first attempt delivered (its `serialized_data`), as upstream's Replay button does.
 */
export async function replayChain(ctx: AttemptContext, uuid: string): Promise<AttemptReport> {
  const attempts = await ctx.store.log.attempts(uuid);
  const first = attempts[0];
  if (!first) throw new AsyncEventsError('NOT_FOUND', `No delivery with UUID "${uuid}" exists in the log`, { uuid });
  if (first.serializedData === null) throw new AsyncEventsError('VALIDATION_FAILED', `Delivery "${uuid}" has no stored payload to replay`, { uuid });
  const subscription = await ctx.store.subscriptions.get(first.subscriptionId);
  if (!subscription) throw new AsyncEventsError('SUBSCRIPTION_NOT_FOUND', `Subscription ${first.subscriptionId} of delivery "${uuid}" no longer exists`, { uuid });
  if (!subscription.active) throw new AsyncEventsError('VALIDATION_FAILED', `Subscription ${subscription.id} is disabled; enable it before replaying "${uuid}"`, { uuid });
  const chain = await ctx.store.log.chain(uuid);
  const payload = payloadFromSerializedData(first.serializedData, { uuid, eventName: first.eventName, storeId: chain?.storeId ?? String(subscription.storeId) });
  await ctx.store.log.openChain({ uuid, subscriptionId: subscription.id, eventName: payload.eventName, storeId: String(payload.storeId) });
  return runAttempt(ctx, subscription, payload, 0);
}
