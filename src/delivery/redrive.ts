import { coerceError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { QueueName, QueueTransport } from '../queue/transport.ts';
import type { ParkedMessage, Store } from '../store/store.ts';

/*
 * Redriving parked messages: each goes back on its queue unchanged and leaves the parked list. REST, GraphQL, the
 * CLI and the console all call `redriveParked`, so the rule below holds for every one of them.
 */

export interface RedriveContext {
  readonly store: Pick<Store, 'parked'>;
  readonly transport: Pick<QueueTransport, 'requeue'>;
  readonly logger: Logger;
}

/** Every parked message (as parked when the redrive starts), or the given ids. */
export type RedriveSelection = { readonly all: true } | { readonly ids: readonly number[] };

export interface RedriveResult {
  /** Ids put back on their queue and taken off the parked list, oldest first. */
  readonly redriven: readonly number[];
  /** Requested ids that are not parked (never were, or already redriven); nothing was done for them. */
  readonly unknown: readonly number[];
  /** Messages that could not go back; they stay parked, unchanged. */
  readonly failed: readonly { readonly id: number; readonly message: string }[];
}

const QUEUES: readonly QueueName[] = ['event.trigger', 'event.failover.retry'];
const BATCH = 100;

export async function redriveParked(ctx: RedriveContext, selection: RedriveSelection): Promise<RedriveResult> {
  const redriven: number[] = [];
  const failed: { id: number; message: string }[] = [];
  const unknown: number[] = [];

  const redriveBatch = async (messages: readonly ParkedMessage[]): Promise<void> => {
    const outcomes = await Promise.all(messages.map((message) => requeueOne(ctx, message)));
    const requeued = messages.filter((_, i) => outcomes[i] === undefined).map((m) => m.id);
    messages.forEach((m, i) => {
      const problem = outcomes[i];
      if (problem !== undefined) failed.push({ id: m.id, message: problem });
    });
    // Removed only after the queue confirmed the message: a crash in between leaves it both queued and parked, so a
    // later redrive may deliver it twice (receivers deduplicate on webhook-id), but it is never lost.
    if (requeued.length > 0) await ctx.store.parked.remove(requeued);
    redriven.push(...requeued);
  };

  if ('ids' in selection) {
    const wanted = [...new Set(selection.ids)];
    const found = await ctx.store.parked.get(wanted);
    const foundIds = new Set(found.map((m) => m.id));
    unknown.push(...wanted.filter((id) => !foundIds.has(id)));
    for (let i = 0; i < found.length; i += BATCH) await redriveBatch(found.slice(i, i + BATCH));
  } else {
    // Only what is parked now: a redriven message that is parked again gets a new id past this one, so "all" ends.
    const throughId = (await ctx.store.parked.list(1))[0]?.id ?? 0;
    for (let afterId = 0; ; ) {
      const page = await ctx.store.parked.page({ afterId, throughId, limit: BATCH });
      if (page.length === 0) break;
      await redriveBatch(page);
      afterId = page.at(-1)?.id ?? throughId;
    }
  }

  if (redriven.length > 0 || failed.length > 0) {
    ctx.logger.info({ redriven: redriven.length, failed: failed.length, unknown: unknown.length }, 'parked messages redriven');
  }
  return { redriven: redriven.sort((a, b) => a - b), unknown, failed };
}

/** Undefined when the message is back on its queue, else why it is not. */
async function requeueOne(ctx: RedriveContext, message: ParkedMessage): Promise<string | undefined> {
  const queue = QUEUES.find((q) => q === message.queue);
  if (queue === undefined) return `parked from queue "${message.queue}", which the sidecar does not consume; it cannot be redriven`;
  try {
    await ctx.transport.requeue(queue, message.body);
    return undefined;
  } catch (error) {
    const err = coerceError(error);
    ctx.logger.warn({ err, parkedId: message.id, queue }, 'parked message not redriven');
    if (isAsyncEventsError(err, 'MESSAGE_MALFORMED')) return `not redriven: ${err.message}; it would only be parked again`;
    return isAsyncEventsError(err) ? err.message : 'the queue refused the message; see the async-events log';
  }
}
