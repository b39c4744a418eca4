import type { Logger } from '../logger.ts';
import type { QueueTransport } from '../queue/transport.ts';
import type { Sink } from '../sinks/sink.ts';
import type { Store } from '../store/store.ts';
import type { Chain, ChainStatus, DeliveryOutcome, EventPayload, PayloadFormat, Subscription } from '../types.ts';
import { coerceError, isAsyncEventsError } from '../errors.ts';
import { retryDelaySeconds } from './backoff.ts';
import { isOrdered } from './entity-order.ts';
import type { DeliveryLimiter } from './limiter.ts';
import type { OrderedChains } from './ordered-chains.ts';
import type { RuleRuntime } from './subscription-rules.ts';
import { payloadFromSerializedData, retryContent, serializedData } from './retry-content.ts';

/** What the attempt runner needs; built once in `app.ts`. */
export interface AttemptContext {
  readonly store: Store;
  readonly transport: QueueTransport;
  readonly sinks: { get(key: string): Sink };
  readonly maxDeaths: () => Promise<number>;
  readonly format: PayloadFormat;
  readonly limiter: DeliveryLimiter;
  readonly logger: Logger;
  /** Aborts at the shutdown deadline: deliveries still running are cut off and their messages handed back. */
  readonly signal?: AbortSignal;
  /** Test hook: throws at a named point to simulate a crash there. */
  readonly crashPoint?: (point: 'after-log-row' | 'after-retry-scheduled') => Promise<void>;
  /** Subscription rules at delivery time: max_per_second, filter counts (subscription-rules.ts). */
  readonly rules?: RuleRuntime;
  /** Chains of ordering=entity subscriptions: told when one ends, so the next of its entity starts (ordered-chains.ts). */
  readonly orderedChains?: Pick<OrderedChains, 'chainEnded' | 'triggerSeen'>;
  /** Called after each attempt is durable (metrics, live feed). Must not throw. */
  readonly onAttempt?: (attempt: AttemptReport) => void;
}

export interface AttemptReport {
  readonly logId: number;
  readonly subscription: Subscription;
  readonly payload: EventPayload;
  readonly outcome: DeliveryOutcome;
  readonly deathCount: number;
  readonly chainStatus: ChainStatus;
  readonly retryInSeconds: number | undefined;
  readonly durationMs: number;
}

/** Whether a chain is over: delivered, or failed for good (not retryable, or dead after its retries). */
export function isChainEnded(status: ChainStatus): boolean {
  return status === 'delivered' || status === 'failed' || status === 'dead';
}

/**
 * One delivery attempt of a chain, and everything that must be durable before its message is acknowledged: the
 * log row with the chain's new state, then the next retry (or the dead letter).
 *
 * `deathCount` is the number of failed attempts before this one. After a failure the death count grows by one;
 * while it stays within max_deaths a retry is scheduled after min(60, deaths²) seconds, so a chain makes at most
 * 1 + max_deaths attempts (max_deaths = 0: no retry at all).
 *
 * A shutdown that aborts the delivery rejects with SHUTTING_DOWN and records nothing: the message goes back to its
 * queue and the same attempt runs again after the restart.
 */
export async function runAttempt(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number): Promise<AttemptReport> {
  const timing = { started: performance.now() };
  const outcome = await ctx.limiter.run(subscription.id, () => deliverInTurn(ctx, subscription, payload, deathCount, timing), ctx.signal);
  return recordOutcome(ctx, subscription, payload, deathCount, outcome, performance.now() - timing.started);
}

/**
 * `runAttempt`, unless the subscription's lane stays full for `laneWaitMs`: then nothing is done and the result is
 * undefined, so the caller can hand the chain off instead of holding its message behind slow deliveries.
 */
export async function attemptWithin(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number, laneWaitMs: number): Promise<AttemptReport | undefined> {
  const timing = { started: performance.now() };
  const result = await ctx.limiter.runWithin(subscription.id, laneWaitMs, () => deliverInTurn(ctx, subscription, payload, deathCount, timing), ctx.signal);
  if (!result.ran) return undefined;
  return recordOutcome(ctx, subscription, payload, deathCount, result.value, performance.now() - timing.started);
}

/**
 * The delivery once the subscription's max_per_second gives it its turn (subscription-rules.ts). The wait is the
 * subscription's own choice, not the recipient's slowness, so it is taken out of the attempt's duration.
 */
async function deliverInTurn(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number, timing: { started: number }): Promise<DeliveryOutcome> {
  const held = performance.now();
  await ctx.rules?.holdForRate(subscription, ctx.signal);
  timing.started += performance.now() - held;
  return deliver(ctx, subscription, payload, deathCount);
}

async function recordOutcome(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number, outcome: DeliveryOutcome, durationMs: number): Promise<AttemptReport> {
  let chainStatus: ChainStatus;
  let retryInSeconds: number | undefined;
  const deaths = deathCount + 1;
  if (outcome.success) {
    chainStatus = 'delivered';
  } else if (!outcome.retryable || outcome.disableSubscription) {
    chainStatus = 'failed';
  } else if (deaths <= (await ctx.maxDeaths())) {
    chainStatus = 'retrying';
    retryInSeconds = retryDelaySeconds(deaths, outcome.retryAfterSeconds);
  } else {
    chainStatus = 'dead';
  }

  /*
   * The log row (with the chain's new state) is written before the retry is scheduled, never after. A crash
   * between the two then leaves a chain whose log says "retrying, death count N" and whose message comes back; the
   * handler of that redelivered message sees its attempt already logged and only schedules the missing retry
   * (`continueLoggedChain`), without attempting again. The other order forked chains: a retry scheduled, the log row
   * not written, the message redelivered, attempted again and a second retry scheduled, two continuations of one
   * chain each attempting and retrying on their own. A retry that ends up scheduled twice (a crash after scheduling,
   * before the acknowledgement) is a duplicate of one continuation, which the retry handler drops as stale once the
   * chain has moved past its death count.
   */
  const logId = await ctx.store.log.recordAttempt({
    uuid: payload.uuid,
    subscriptionId: subscription.id,
    eventName: payload.eventName,
    storeId: String(payload.storeId),
    success: outcome.success,
    responseData: outcome.responseData,
    serializedData: serializedData(payload, ctx.format),
    chainStatus,
    deathCount: outcome.success ? deathCount : deaths,
    nextAttemptAt: retryInSeconds === undefined ? null : new Date(Date.now() + retryInSeconds * 1000),
    disableSubscription: outcome.disableSubscription === true,
    recipientUrl: subscription.recipientUrl,
    sink: subscription.metadata,
  });
  await ctx.crashPoint?.('after-log-row');
  if (chainStatus === 'retrying' && retryInSeconds !== undefined) {
    await ctx.transport.scheduleRetry({ subscription_id: subscription.id, death_count: deaths, content: retryContent(payload, ctx.format), uuid: payload.uuid }, retryInSeconds);
  } else if (chainStatus === 'dead') {
    await ctx.transport.deadLetter({ subscription_id: subscription.id, death_count: deaths, content: retryContent(payload, ctx.format), uuid: payload.uuid });
  }
  if (chainStatus === 'retrying') await ctx.crashPoint?.('after-retry-scheduled');
  // Before the message is acknowledged: a crash here leaves the chain ended but not done, which the sweep finds.
  if (isChainEnded(chainStatus) && isOrdered(subscription)) await ctx.orderedChains?.chainEnded(payload.uuid);

  const report: AttemptReport = { logId, subscription, payload, outcome, deathCount, chainStatus, retryInSeconds, durationMs };
  ctx.logger[outcome.success ? 'debug' : 'info'](
    { uuid: payload.uuid, subscriptionId: subscription.id, event: payload.eventName, status: outcome.statusCode, chainStatus, attempt: deathCount + 1, retryInSeconds, ms: Math.round(durationMs) },
    outcome.success ? 'delivered' : `delivery failed: ${outcome.responseData.slice(0, 200)}`,
  );
  try {
    ctx.onAttempt?.(report);
  } catch (error) {
    ctx.logger.warn({ err: coerceError(error) }, 'attempt listener failed');
  }
  return report;
}

async function deliver(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number): Promise<DeliveryOutcome> {
  let sink: Sink;
  try {
    sink = ctx.sinks.get(subscription.metadata);
  } catch (error) {
    // A subscription whose sink does not exist can never succeed: record why, without retrying.
    const message = isAsyncEventsError(error) ? error.message : `No sink for metadata "${subscription.metadata}"`;
    return { success: false, retryable: false, responseData: message };
  }
  try {
    return await sink.deliver({ subscription, payload, format: ctx.format, deathCount, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch (error) {
    // Cut off by the shutdown deadline: not an outcome of the recipient, so nothing is logged and the message returns.
    if (isAsyncEventsError(error, 'SHUTTING_DOWN') || ctx.signal?.aborted) throw error;
    // Sinks report failures as outcomes; a throw is a bug or an unexpected fault, worth another try.
    const err = coerceError(error);
    ctx.logger.error({ err, sink: sink.key }, 'sink threw instead of reporting an outcome');
    return { success: false, retryable: !isAsyncEventsError(err), responseData: err.message };
  }
}

/**
 * The redelivered message of an attempt that was logged but whose continuation may be missing (a crash between the
 * log row and the retry, see runAttempt): schedule the chain's next retry from its logged state, or its dead letter.
 * Returns false when the chain has moved on (this message is a stale duplicate) or has ended.
 */
export async function continueLoggedChain(ctx: AttemptContext, subscription: Subscription, chain: Chain, messageDeathCount: number): Promise<boolean> {
  if (chain.deathCount !== messageDeathCount + 1 || (chain.status !== 'retrying' && chain.status !== 'dead')) return false;
  const content = await chainContent(ctx, chain);
  if (content === undefined) return false;
  const message = { subscription_id: subscription.id, death_count: chain.deathCount, content, uuid: chain.uuid };
  if (chain.status === 'dead') {
    await ctx.transport.deadLetter(message);
    return true;
  }
  const dueInSeconds = chain.nextAttemptAt ? Math.ceil((chain.nextAttemptAt.getTime() - Date.now()) / 1000) : 1;
  ctx.logger.info({ uuid: chain.uuid, subscriptionId: subscription.id, deathCount: chain.deathCount }, 'redelivered message: its attempt was logged, scheduling the retry that may be missing');
  await ctx.transport.scheduleRetry(message, Math.max(1, dueInSeconds));
  return true;
}

/**
 * The retry content that continues a chain: what its first attempt delivered (`serialized_data`), or for a chain
 * handed off before any attempt, the content kept with it. Undefined when neither exists.
 */
export async function chainContent(ctx: AttemptContext, chain: Chain): Promise<string | undefined> {
  if (chain.attempts === 0) return ctx.store.log.heldContent(chain.uuid);
  const first = (await ctx.store.log.attempts(chain.uuid))[0];
  if (!first || first.serializedData === null) return undefined;
  const payload = payloadFromSerializedData(first.serializedData, { uuid: chain.uuid, eventName: chain.eventName, storeId: chain.storeId });
  return retryContent(payload, ctx.format);
}
