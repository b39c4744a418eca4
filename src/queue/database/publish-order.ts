import { sql, type Kysely } from 'kysely';
import type { Logger } from '../../logger.ts';
import type { Database } from '../../store/schema.ts';
import { TRIGGER_QUEUE, TRIGGER_TOPIC } from '../names.ts';
import { DEFAULT_SETTLE_MS, createPause, handUntilAccepted } from '../publish-order.ts';
import type { PublishOrderHandler, PublishOrderOptions, QueueConsumer, QueueDelivery } from '../transport.ts';

/*
 * The publish-order reader of the database queue reads `queue_message` itself, in id order (auto-increment ids are
 * publish order), and keeps how far it got in `async_event_publish_order` (one cursor row). It leaves the status
 * rows to the competing consumers of `consume`, so both see every trigger.
 *
 * Ids are contiguous only once every insert has committed: a transaction may commit id 10 after id 11, or roll
 * back and leave 10 out for good. So the reader hands out only the contiguous run after its position; at a gap it
 * waits, and once the gap has been open for settleMs it passes it, storing a position past the gap before handing
 * out anything after it. `passed()` reads that stored position, so it never answers false for a message the
 * reader will not hand out (a late commit in a passed gap is the normal consumer's alone).
 *
 * Several readers may run at once (one per replica); each may hand out a batch another one also hands out (the
 * handler dedupes), and the cursor only ever moves forward. Deciding to hand out a row and passing a gap are kept
 * apart: on MySQL by a lock on the cursor row (a gap is passed under an exclusive lock after checking it is still
 * open; a reader takes its rows and then reads the cursor with a shared lock, so a row that committed into a gap
 * being passed is seen as passed); on SQLite, where writes are serialised, by doing each in one statement.
 */

const CURSOR_NAME = TRIGGER_TOPIC;
/** Topic of the row enable() takes an id with; deleted in the same transaction. */
const ENABLE_MARKER_TOPIC = 'async_events.publish_order.enabled';

export interface PublishOrderCursorOptions {
  readonly db: Kysely<Database>;
  readonly dialect: 'mysql' | 'sqlite';
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  /** Pause between checks of whether publish order was enabled, while a reader waits for that. */
  readonly checkMs: number;
}

export interface PublishOrderCursor {
  enable(): Promise<void>;
  enabled(): Promise<boolean>;
  passed(messageId: string): Promise<boolean>;
  read(handler: PublishOrderHandler, options: PublishOrderOptions): QueueConsumer;
}

interface Row {
  readonly id: number;
  readonly topic: string | null;
  readonly body: string | null;
}

/** How auto-increment ids are spaced: `step` apart, starting at `offset` (MySQL's auto_increment_* settings). */
interface IdSequence {
  readonly step: number;
  readonly offset: number;
}

/** The id that follows `position` in an unbroken run. */
export function nextId(position: number, sequence: IdSequence): number {
  const rest = (((sequence.offset - position) % sequence.step) + sequence.step) % sequence.step;
  return position + (rest === 0 ? sequence.step : rest);
}

export function createPublishOrderCursor(options: PublishOrderCursorOptions): PublishOrderCursor {
  const { db, dialect, logger } = options;
  let sequence: Promise<IdSequence> | undefined;

  function idSequence(): Promise<IdSequence> {
    sequence ??= (async () => {
      if (dialect === 'sqlite') return { step: 1, offset: 1 };
      const { rows } = await sql<{ step: number | string; start: number | string }>`SELECT @@auto_increment_increment AS step, @@auto_increment_offset AS start`.execute(db);
      const step = Math.max(1, Number(rows[0]?.step ?? 1));
      return { step, offset: Math.min(step, Math.max(1, Number(rows[0]?.start ?? 1))) };
    })();
    sequence.catch(() => (sequence = undefined));
    return sequence;
  }

  /** The stored position; `lock` reads it with a lock on MySQL (waiting for a gap being passed). */
  async function storedPosition(on: Kysely<Database>, lock?: 'share' | 'update'): Promise<number | undefined> {
    let query = on.selectFrom('async_event_publish_order').select('position').where('name', '=', CURSOR_NAME);
    if (dialect === 'mysql' && lock === 'share') query = query.modifyEnd(sql`LOCK IN SHARE MODE`);
    if (dialect === 'mysql' && lock === 'update') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row === undefined ? undefined : Number(row.position);
  }

  /** Moves the stored position forward to `position`; never back, whichever reader got further. */
  async function advance(position: number): Promise<void> {
    await db.updateTable('async_event_publish_order').set({ position }).where('name', '=', CURSOR_NAME).where('position', '<', position).execute();
  }

  /** Rows after `from` with the position to walk them from, or undefined while publish order is not enabled. */
  async function look(from: number, limit: number): Promise<{ position: number; rows: Row[] } | undefined> {
    const rowsAfter = (on: Kysely<Database>) =>
      on.selectFrom('queue_message').select(['id', 'topic_name', 'body']).where('id', '>', from).orderBy('id').limit(limit);
    let found: { id: number; topic_name: string | null; body: string | null }[];
    let stored: number | undefined;
    if (dialect === 'mysql') {
      ({ found, stored } = await db.transaction().execute(async (trx) => {
        const rows = await rowsAfter(trx).execute();
        // Read after the rows, under a shared lock: a gap passed meanwhile shows here, and its late rows are dropped.
        return { found: rows, stored: await storedPosition(trx, 'share') };
      }));
    } else {
      // One statement is one snapshot: the rows and the cursor as of the same moment.
      const rows = await rowsAfter(db)
        .select((eb) => eb.selectFrom('async_event_publish_order').select('position').where('name', '=', CURSOR_NAME).as('stored'))
        .execute();
      found = rows;
      stored = rows.length > 0 ? (rows[0]!.stored === null ? undefined : Number(rows[0]!.stored)) : await storedPosition(db);
    }
    if (stored === undefined) return undefined;
    const position = Math.max(from, stored);
    const rows = found.map((r) => ({ id: Number(r.id), topic: r.topic_name, body: r.body })).filter((r) => r.id > position);
    return { position, rows };
  }

  /** Passes the gap before the row `next`, if it is still open; true once the cursor is past it. */
  async function passGap(next: number): Promise<boolean> {
    if (dialect === 'sqlite') {
      // One statement, so the check that the gap is still open and the move past it cannot be split by an insert.
      await db
        .updateTable('async_event_publish_order')
        .set({ position: next - 1 })
        .where('name', '=', CURSOR_NAME)
        .where('position', '<', next - 1)
        .where(({ not, exists, selectFrom, ref }) =>
          not(exists(selectFrom('queue_message').select('id').where('id', '>', ref('async_event_publish_order.position').$castTo<number>()).where('id', '<', next))),
        )
        .execute();
      return ((await storedPosition(db)) ?? 0) >= next - 1;
    }
    // READ COMMITTED: the check sees every insert committed before it, not a snapshot from the lock's time.
    return db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        const stored = await storedPosition(trx, 'update');
        if (stored === undefined) return false;
        if (stored >= next - 1) return true;
        const open = await trx.selectFrom('queue_message').select('id').where('id', '>', stored).where('id', '<', next).limit(1).executeTakeFirst();
        if (open !== undefined) return false; // the gap filled in meanwhile
        await trx.updateTable('async_event_publish_order').set({ position: next - 1 }).where('name', '=', CURSOR_NAME).where('position', '<', next - 1).execute();
        return true;
      });
  }

  return {
    async enable() {
      // "From now on" is the next id queue_message hands out, not MAX(id): Magento's cleanup deletes old rows, and
      // from MAX(id) of an emptied table the first new trigger would sit behind a gap for settleMs. A row inserted
      // and deleted takes that id (auto-increment ids are not reused); it has no status row, so no consumer takes
      // it, and the reader skips its topic. (On SQLite one statement at a time: a transaction held across awaits
      // would make another connection of this process wait for its lock synchronously, blocking the holder too.)
      const takeId = async (on: Kysely<Database>): Promise<void> => {
        const marker = await on.insertInto('queue_message').values({ topic_name: ENABLE_MARKER_TOPIC, body: null }).executeTakeFirstOrThrow();
        if (marker.insertId === undefined) throw new Error('database did not report the id of the new queue_message row');
        const position = Number(marker.insertId);
        try {
          const insert = on.insertInto('async_event_publish_order').values({ name: CURSOR_NAME, position });
          // Enabled concurrently from another process: theirs stays, from (almost) the same moment.
          await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.doNothing())).execute();
        } finally {
          await on.deleteFrom('queue_message').where('id', '=', position).execute();
        }
      };
      // Already enabled, no id is taken: each taken id is a gap the running readers would wait settleMs at.
      if ((await storedPosition(db)) !== undefined) return;
      if (dialect === 'mysql') await db.transaction().execute(takeId);
      else await takeId(db);
    },

    async enabled() {
      return (await storedPosition(db)) !== undefined;
    },

    async passed(messageId: string) {
      const id = Number(messageId);
      if (!Number.isSafeInteger(id)) return false;
      // Under a shared lock on MySQL: a gap being passed (under FOR UPDATE) may already have been checked open while
      // this message committed; reading the old position then would leave the message to nobody.
      const stored = dialect === 'mysql' ? await db.transaction().execute((trx) => storedPosition(trx, 'share')) : await storedPosition(db);
      return stored !== undefined && stored >= id;
    },

    read(handler: PublishOrderHandler, readOptions: PublishOrderOptions): QueueConsumer {
      const { maxBatch } = readOptions;
      const settleMs = readOptions.settleMs ?? DEFAULT_SETTLE_MS;
      const limit = Math.max(maxBatch * 2, 100);
      const pause = createPause();
      let stopped = false;

      /** Hands one batch until the handler resolves (false: stopped first, the batch is handed back). */
      /** Hands one batch until the handler resolves (false: stopped first, the batch is handed back). */
      function handOut(batch: readonly Row[]): Promise<boolean> {
        const deliveriesOf = (failures: number): QueueDelivery[] => batch.map((row) => ({ queue: TRIGGER_QUEUE, body: row.body ?? '', messageId: String(row.id), redelivered: failures > 0 }));
        return handUntilAccepted(handler, deliveriesOf, { pause, logger, givenUp: () => stopped });
      }

      const loop = (async () => {
        let local = 0;
        let gap: { after: number; since: number } | undefined;
        while (!stopped) {
          let again = false;
          try {
            const view = await look(local, limit);
            if (view === undefined) {
              await pause.sleep(options.checkMs);
              continue;
            }
            const steps = await idSequence();
            local = view.position;
            const batch: Row[] = [];
            let reached = view.position;
            let gapBefore: number | undefined;
            for (const row of view.rows) {
              // An id below the expected one is another writer's (auto_increment_offset differs per server): next all the same.
              if (row.id > nextId(reached, steps)) {
                gapBefore = row.id;
                break;
              }
              if (row.topic === TRIGGER_TOPIC) {
                if (batch.length === maxBatch) break;
                batch.push(row);
              }
              reached = row.id;
            }
            if (batch.length > 0) {
              if (!(await handOut(batch))) break;
              await advance(reached);
              local = reached;
              again = true;
            } else if (reached > view.position) {
              // Only other topics: passed without a handler.
              await advance(reached);
              local = reached;
              again = true;
            } else if (gapBefore !== undefined) {
              const now = Date.now();
              if (gap?.after !== view.position) gap = { after: view.position, since: now };
              if (now - gap.since >= settleMs && (await passGap(gapBefore))) {
                logger.info({ after: view.position, next: gapBefore, openMs: now - gap.since }, 'publish-order reader passed a gap in queue_message ids');
                local = gapBefore - 1;
                again = true;
              }
            }
          } catch (error) {
            logger.error({ err: error }, 'publish-order read failed; trying again');
          }
          if (!again && !stopped) await pause.sleep(options.pollIntervalMs);
        }
      })();

      return {
        async stop() {
          stopped = true;
          pause.interrupt();
          await loop;
        },
      };
    },
  };
}
