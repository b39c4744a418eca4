import { createAppParts } from '../app.ts';
import { redriveParked, type RedriveSelection } from '../delivery/redrive.ts';
import { fail, oneShotLogger, settingsFrom, usage, type Flags } from './common.ts';

/*
 * `parked` lists parked messages; `parked redrive [--all | ID…]` puts them back through the rule every interface
 * shares (delivery/redrive.ts). Exit 1 when an id was not parked or a message could not go back.
 */

/** One line per parked message, newest first: id, queue, parked at (UTC), reason. */
export async function parked(flags: Flags & { limit: string }): Promise<void> {
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const store = await parts.store();
      const [messages, total] = await Promise.all([store.parked.list(Math.min(1000, Number(flags.limit))), store.parked.count()]);
      for (const m of messages) console.log(`${m.id}\t${m.queue}\t${m.created.toISOString()}\t${m.reason.replace(/\s+/g, ' ')}`);
      console.log(total === 0 ? 'no parked messages' : `${messages.length} of ${total} parked message(s)`);
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}

/** The selection from `--all` or the ids, or a usage problem. */
export function redriveSelectionFromArgs(ids: readonly string[], all: boolean): RedriveSelection | { problem: string } {
  if (all && ids.length > 0) return { problem: 'give either --all or ids, not both' };
  if (all) return { all: true };
  if (ids.length === 0) return { problem: 'give the ids to redrive (see `async-events parked`), or --all' };
  const bad = ids.find((id) => !/^[1-9]\d{0,14}$/.test(id));
  if (bad !== undefined) return { problem: `"${bad}" is not a parked message id (a positive whole number)` };
  return { ids: ids.map(Number) };
}

export async function redrive(ids: readonly string[], flags: Flags & { all?: boolean }): Promise<void> {
  const selection = redriveSelectionFromArgs(ids, flags.all === true);
  if ('problem' in selection) usage(selection.problem);
  try {
    const parts = createAppParts({ settings: await settingsFrom(flags), logger: oneShotLogger(), mustExist: true });
    try {
      const [store, transport] = await Promise.all([parts.store(), parts.transport()]);
      const result = await redriveParked({ store, transport, logger: parts.logger.child({ stage: 'delivery' }) }, selection);
      for (const id of result.redriven) console.log(`${id} redriven`);
      for (const id of result.unknown) console.error(`${id} not redriven: no parked message has this id`);
      for (const f of result.failed) console.error(`${f.id} not redriven: ${f.message}`);
      console.log(`${result.redriven.length} redriven, ${result.unknown.length} unknown, ${result.failed.length} failed`);
      if (result.unknown.length > 0 || result.failed.length > 0) process.exitCode = 1;
    } finally {
      await parts.close();
    }
  } catch (error) {
    fail(error);
  }
}
