import { sql, type Kysely, type Selectable } from 'kysely';
import { fromDbDateTime, toDbDateTime } from './datetime.ts';
import type { AsyncEventChainOrderTable, Database } from './schema.ts';

/*
 * Chains of ordering=entity subscriptions, in publish order (`async_event_chain_order`, ours). A group is one
 * subscription and one entity (the trigger's service arguments); the lowest row of a group not yet done is its head,
 * and only a head's chain runs. Rows are taken in one at a time, in the order the publish-order reader hands the
 * triggers out, so the auto-increment sequence is the publish order. Two readers taking in the same triggers (the
 * database queue may hand one batch to two replicas) keep that order too: each inserts in order and skips a uuid
 * that is already there, so a row is only ever inserted after its predecessor exists.
 */

export interface OrderedChain {
  readonly sequence: number;
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly entityKey: string;
  readonly messageId: string;
  readonly triggerBody: string;
  /** When a process took it as head to start its chain; null while it waits its turn. */
  readonly startedAt: Date | null;
  readonly done: boolean;
}

export type NewOrderedChain = Pick<OrderedChain, 'uuid' | 'subscriptionId' | 'entityKey' | 'messageId' | 'triggerBody'>;

export interface ChainOrderRepository {
  /** Appends chains in the order given; a uuid already taken in is skipped. Returns how many were new. */
  takeIn(chains: readonly NewOrderedChain[]): Promise<number>;
  get(uuid: string): Promise<OrderedChain | undefined>;
  /** The group's head (lowest not done), if any. */
  head(subscriptionId: number, entityKey: string): Promise<OrderedChain | undefined>;
  /**
   * Takes the group's head to start its chain: succeeds for one caller only, when the head waits (or, with
   * `startedBefore`, was taken before then by a process that did not finish starting it). Returns the head taken.
   */
  claimHead(subscriptionId: number, entityKey: string, now: Date, startedBefore?: Date): Promise<OrderedChain | undefined>;
  /** Gives a head back to wait again (its start failed for a reason worth another try). */
  unclaim(uuid: string): Promise<void>;
  /** Moves a started head's start time on, so the sweep leaves a chain that is still retrying alone for a while. */
  touch(uuid: string, now: Date): Promise<void>;
  /**
   * Marks the chain done (delivered, failed, dead, filtered out, dropped) and takes its group's next head, as
   * `claimHead` would, in one transaction: one commit for the step every ordered chain makes. `wasDone` is true when
   * it was done already; `next` is undefined when the group is empty or its head was taken already.
   */
  finishAndClaimNext(chain: Pick<OrderedChain, 'uuid' | 'subscriptionId' | 'entityKey'>, now: Date): Promise<{ readonly wasDone: boolean; readonly next: OrderedChain | undefined }>;
  /** Heads that wait, or that were taken before `startedBefore`: the sweep's work. */
  heads(query: { startedBefore: Date; limit: number }): Promise<OrderedChain[]>;
  /** Deletes done rows created before the cut-off; returns how many went. */
  forgetDone(createdBefore: Date, limit?: number): Promise<number>;
}

type Row = Selectable<AsyncEventChainOrderTable>;

function toOrderedChain(row: Row): OrderedChain {
  return {
    sequence: Number(row.sequence),
    uuid: row.uuid,
    subscriptionId: Number(row.subscription_id),
    entityKey: row.entity_key,
    messageId: row.message_id,
    triggerBody: row.trigger_body,
    startedAt: fromDbDateTime(row.started_at),
    done: Number(row.done) === 1,
  };
}

export function createChainOrderRepository(db: Kysely<Database>, dialect: 'mysql' | 'sqlite'): ChainOrderRepository {
  const table = 'async_event_chain_order' as const;

  async function head(on: Kysely<Database>, subscriptionId: number, entityKey: string): Promise<OrderedChain | undefined> {
    const row = await on
      .selectFrom(table)
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .where('entity_key', '=', entityKey)
      .where('done', '=', 0)
      .orderBy('sequence')
      .limit(1)
      .executeTakeFirst();
    return row ? toOrderedChain(row) : undefined;
  }

  async function claimHead(on: Kysely<Database>, subscriptionId: number, entityKey: string, now: Date, startedBefore?: Date): Promise<OrderedChain | undefined> {
    const found = await head(on, subscriptionId, entityKey);
    if (!found) return undefined;
    let update = on.updateTable(table).set({ started_at: toDbDateTime(now) }).where('sequence', '=', found.sequence).where('done', '=', 0);
    if (found.startedAt === null) update = update.where('started_at', 'is', null);
    else if (startedBefore && found.startedAt < startedBefore) update = update.where('started_at', '=', toDbDateTime(found.startedAt));
    else return undefined;
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? { ...found, startedAt: now } : undefined;
  }

  return {
    async takeIn(chains) {
      if (chains.length === 0) return 0;
      // One insert at a time, in order: the sequence is assigned by the insert, so batching could not reorder, but a
      // skipped duplicate in a multi-row insert would hide which rows were new. One transaction for the batch: one
      // commit (one flush) instead of one per chain. A second reader inserting the same uuids waits on the first's
      // row locks, in the same order, so neither waits for the other twice (no deadlock), then skips them.
      return db.transaction().execute(async (trx) => {
        let added = 0;
        for (const chain of chains) {
          const insert = trx.insertInto(table).values({
            uuid: chain.uuid,
            subscription_id: chain.subscriptionId,
            entity_key: chain.entityKey,
            message_id: chain.messageId,
            trigger_body: chain.triggerBody,
            done: 0,
          });
          const result = await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('uuid').doNothing())).executeTakeFirst();
          added += Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? 1 : 0;
        }
        return added;
      });
    },

    async get(uuid) {
      const row = await db.selectFrom(table).selectAll().where('uuid', '=', uuid).executeTakeFirst();
      return row ? toOrderedChain(row) : undefined;
    },

    head: (subscriptionId, entityKey) => head(db, subscriptionId, entityKey),

    claimHead: (subscriptionId, entityKey, now, startedBefore) => claimHead(db, subscriptionId, entityKey, now, startedBefore),

    finishAndClaimNext(chain, now) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.updateTable(table).set({ done: 1 }).where('uuid', '=', chain.uuid).where('done', '=', 0).executeTakeFirst();
        const next = await claimHead(trx, chain.subscriptionId, chain.entityKey, now);
        return { wasDone: Number(result.numUpdatedRows) === 0, next };
      });
    },

    async unclaim(uuid) {
      await db.updateTable(table).set({ started_at: null }).where('uuid', '=', uuid).where('done', '=', 0).execute();
    },

    async touch(uuid, now) {
      await db.updateTable(table).set({ started_at: toDbDateTime(now) }).where('uuid', '=', uuid).where('done', '=', 0).execute();
    },

    async heads({ startedBefore, limit }) {
      // A head is a row with no earlier not-done row in its group.
      const rows = await db
        .selectFrom(`${table} as o`)
        .selectAll('o')
        .where('o.done', '=', 0)
        .where((eb) => eb.or([eb('o.started_at', 'is', null), eb('o.started_at', '<', toDbDateTime(startedBefore))]))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom(`${table} as p`)
                .select(sql.lit(1).as('one'))
                .whereRef('p.subscription_id', '=', 'o.subscription_id')
                .whereRef('p.entity_key', '=', 'o.entity_key')
                .where('p.done', '=', 0)
                .whereRef('p.sequence', '<', 'o.sequence'),
            ),
          ),
        )
        .orderBy('o.sequence')
        .limit(limit)
        .execute();
      return rows.map(toOrderedChain);
    },

    async forgetDone(createdBefore, limit = 1000) {
      const rows = await db.selectFrom(table).select('sequence').where('done', '=', 1).where('created', '<', toDbDateTime(createdBefore)).limit(limit).execute();
      if (rows.length === 0) return 0;
      const result = await db.deleteFrom(table).where('sequence', 'in', rows.map((row) => row.sequence)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
