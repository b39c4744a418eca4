import type { Logger } from '../logger.ts';
import type { QueueTransport } from '../queue/transport.ts';
import type { Sink } from '../sinks/sink.ts';
import type { Store } from '../store/store.ts';
import type { ChainStatus, DeliveryOutcome, EventPayload, PayloadFormat, Subscription } from '../types.ts';
import { coerceError, isAsyncEventsError } from '../errors.ts';
import { retryDelaySeconds } from './backoff.ts';
import type { DeliveryLimiter } from './limiter.ts';
import { retryContent, serializedData } from './retry-content.ts';

/** What the attempt runner needs; built once in `app.ts`. */
export interface AttemptContext {
  readonly store: Store;
  readonly transport: QueueTransport;
  readonly sinks: { get(key: string): Sink };
  readonly maxDeaths: () => Promise<number>;
  readonly format: PayloadFormat;
  readonly limiter: DeliveryLimiter;
  readonly logger: Logger;
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

/**
 * One delivery attempt of a chain, and everything that must be durable before its message is acknowledged: the
 * next retry (or the dead letter) and the log row with the chain's new state.
 *
 * `deathCount` is the number of failed attempts before this one. After a failure the death count grows by one;
 * while it stays within max_deaths a retry is scheduled after min(60, deaths²) seconds, so a chain makes at most
 * 1 + max_deaths attempts (max_deaths = 0: no retry at all).
 */
export async function runAttempt(ctx: AttemptContext, subscription: Subscription, payload: EventPayload, deathCount: number): Promise<AttemptReport> {
  const started = performance.now();
  const outcome = await ctx.limiter.run(subscription.id, () => deliver(ctx, subscription, payload, deathCount));
  const durationMs = performance.now() - started;

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
    await ctx.transport.scheduleRetry(
      { subscription_id: subscription.id, death_count: deaths, content: retryContent(payload, ctx.format), uuid: payload.uuid },
      retryInSeconds,
    );
  } else {
    chainStatus = 'dead';
    await ctx.transport.deadLetter({ subscription_id: subscription.id, death_count: deaths, content: retryContent(payload, ctx.format), uuid: payload.uuid });
  }

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
    return await sink.deliver({ subscription, payload, format: ctx.format, deathCount });
  } catch (error) {
    // Sinks report failures as outcomes; a throw is a bug or an unexpected fault, worth another try.
    const err = coerceError(error);
    ctx.logger.error({ err, sink: sink.key }, 'sink threw instead of reporting an outcome');
    return { success: false, retryable: !isAsyncEventsError(err), responseData: err.message };
  }
}
