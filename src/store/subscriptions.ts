import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import { AsyncEventsError } from '../errors.ts';
import type { Subscription, SubscriptionRules } from '../types.ts';
import { fromDbDateTime, nowDbDateTime } from './datetime.ts';
import type { Encryptor } from './encryptor.ts';
import type { AsyncEventSubscriberTable, Database } from './schema.ts';
import { criteriaOrder, criteriaPage, criteriaWhere } from './search-criteria.ts';
import { mayBePattern, patternMatches, readRules, writeRules } from './subscription-rules.ts';
import type { NewSubscription, SubscriptionPatch, SubscriptionRepository } from './store.ts';

type Row = Selectable<AsyncEventSubscriberTable>;

const LIMITS = { event_name: 255, recipient_url: 1024, verification_token: 255 } as const;
const MAX_STORE_ID = 65535; // smallint unsigned

/**
 * The token is decrypted when first read, so that one row written with a key this process lacks fails only the
 * deliveries that need its token, not every listing that contains it.
 */
export function toSubscription(row: Row, encryptor: Encryptor, rules: SubscriptionRules = {}): Subscription {
  let token: string | undefined;
  return {
    id: Number(row.subscription_id),
    eventName: row.event_name,
    recipientUrl: row.recipient_url,
    get verificationToken(): string {
      token ??= encryptor.decrypt(row.verification_token);
      return token;
    },
    active: Number(row.status) === 1,
    subscribedAt: fromDbDateTime(row.subscribed_at),
    modified: fromDbDateTime(row.modified),
    metadata: row.metadata,
    storeId: Number(row.store_id),
    rules,
  };
}

function invalid(field: string, message: string): AsyncEventsError {
  return new AsyncEventsError('VALIDATION_FAILED', `${field}: ${message}`, { field });
}

function checkText(field: keyof typeof LIMITS | 'metadata', value: unknown, required: boolean): string {
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (required && value.trim() === '') throw invalid(field, 'must not be empty');
  const limit = field === 'metadata' ? 65535 : LIMITS[field];
  if (value.length > limit) throw invalid(field, `is ${value.length} characters long; at most ${limit} fit the column`);
  return value;
}

function checkStoreId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_STORE_ID) {
    throw invalid('store_id', `must be an integer from 0 to ${MAX_STORE_ID}`);
  }
  return value;
}

/** How long `activeFor` answers from memory; changes made outside this process show within this time. */
export const ACTIVE_CACHE_MS = 1000;

export function createSubscriptionRepository(
  db: Kysely<Database>,
  dialect: 'mysql' | 'sqlite',
  encryptor: Encryptor,
): SubscriptionRepository {
  function encryptToken(token: unknown): string {
    const plain = checkText('verification_token', token, false);
    const stored = encryptor.encrypt(plain);
    if (stored.length > LIMITS.verification_token) {
      throw invalid('verification_token', `is too long: encrypted it takes ${stored.length} characters, the column holds ${LIMITS.verification_token}`);
    }
    return stored;
  }

  const activeCache = new Map<string, { at: number; subscriptions: Subscription[] }>();

  /** Rows with their rules (one more query for the page, not one per row). */
  async function withRules(rows: readonly Row[]): Promise<Subscription[]> {
    const rules = await readRules(db, rows.map((row) => Number(row.subscription_id)));
    return rows.map((row) => toSubscription(row, encryptor, rules.get(Number(row.subscription_id))));
  }

  async function get(id: number): Promise<Subscription | undefined> {
    const row = await db.selectFrom('async_event_subscriber').selectAll().where('subscription_id', '=', id).executeTakeFirst();
    return row ? (await withRules([row]))[0] : undefined;
  }

  return {
    get,

    async list(criteria = {}) {
      const where = criteriaWhere(criteria, dialect);
      const order = criteriaOrder(criteria);
      const page = criteriaPage(criteria);
      let count = db.selectFrom('async_event_subscriber').select((eb) => eb.fn.countAll<number | string>().as('n'));
      let query = db.selectFrom('async_event_subscriber').selectAll();
      if (where) {
        count = count.where(where);
        query = query.where(where);
      }
      for (const { field, direction } of order) query = query.orderBy(field, direction);
      query = query.orderBy('subscription_id', 'asc');
      if (page) query = query.limit(page.limit).offset(page.offset);
      const [rows, total] = await Promise.all([query.execute(), count.executeTakeFirstOrThrow()]);
      return { items: await withRules(rows), totalCount: Number(total.n) };
    },

    async activeFor(eventName, storeId) {
      // Every trigger message asks this; a one-second cache spares the database that read on busy shops. Writes
      // through this repository clear it at once; changes made elsewhere (Magento admin, another replica) show
      // within ACTIVE_CACHE_MS.
      const key = `${eventName}\u0000${storeId}`;
      const cached = activeCache.get(key);
      if (cached && Date.now() - cached.at < ACTIVE_CACHE_MS) return cached.subscriptions;
      const subscriptions = await readActive(eventName, storeId);
      if (activeCache.size > 10_000) activeCache.clear();
      activeCache.set(key, { at: Date.now(), subscriptions });
      return subscriptions;
    },

    async create(input: NewSubscription) {
      activeCache.clear();
      return create(input);
    },

    async update(id: number, patch: SubscriptionPatch) {
      activeCache.clear();
      try {
        return await update(id, patch);
      } finally {
        activeCache.clear();
      }
    },

    async delete(id: number) {
      activeCache.clear();
      try {
        return await remove(id);
      } finally {
        activeCache.clear();
      }
    },
  };

  async function readActive(eventName: string, storeId: number): Promise<Subscription[]> {
    // Event names are case-sensitive; MySQL's utf8mb4_unicode_ci would match 'Sales.Order.Created' too.
    const exact = dialect === 'mysql' ? sql<boolean>`CAST(${sql.ref('event_name')} AS BINARY) = CAST(${eventName} AS BINARY)` : sql<boolean>`${sql.ref('event_name')} = ${eventName}`;
    // Patterns (`sales.order.*`) come along and are matched here, by the search syntax's own wildcard rules.
    const pattern = sql<boolean>`(${sql.ref('event_name')} LIKE '%*%' OR ${sql.ref('event_name')} LIKE '%?%')`;
    let query = db
      .selectFrom('async_event_subscriber')
      .selectAll()
      .where('status', '=', 1)
      .where((eb) => eb.or([exact, pattern]));
    if (storeId !== 0) query = query.where('store_id', 'in', [storeId, 0]);
    const rows = await query.orderBy('subscription_id', 'asc').execute();
    return withRules(rows.filter((row) => row.event_name === eventName || (mayBePattern(row.event_name) && patternMatches(row.event_name, eventName))));
  }

  async function create(input: NewSubscription): Promise<Subscription> {
    const values = {
      event_name: checkText('event_name', input.eventName, true),
      recipient_url: checkText('recipient_url', input.recipientUrl, true),
      verification_token: encryptToken(input.verificationToken),
      metadata: checkText('metadata', input.metadata, true),
      store_id: checkStoreId(input.storeId ?? 0),
      status: input.active === false ? 0 : 1,
      subscribed_at: nowDbDateTime(),
    };
    const id = await db.transaction().execute(async (trx) => {
      const result = await trx.insertInto('async_event_subscriber').values(values).executeTakeFirstOrThrow();
      const inserted = Number(result.insertId);
      await writeRules(trx, inserted, input.rules);
      return inserted;
    });
    const created = await get(id);
    if (!created) throw new AsyncEventsError('STORE_UNAVAILABLE', `subscription ${id} vanished right after insert`, { id });
    return created;
  }

  async function update(id: number, patch: SubscriptionPatch): Promise<Subscription> {
    const values: Updateable<AsyncEventSubscriberTable> = {};
    if (patch.eventName !== undefined) values.event_name = checkText('event_name', patch.eventName, true);
    if (patch.recipientUrl !== undefined) values.recipient_url = checkText('recipient_url', patch.recipientUrl, true);
    if (patch.verificationToken !== undefined) values.verification_token = encryptToken(patch.verificationToken);
    if (patch.metadata !== undefined) values.metadata = checkText('metadata', patch.metadata, true);
    if (patch.storeId !== undefined) values.store_id = checkStoreId(patch.storeId);
    if (patch.active !== undefined) values.status = patch.active ? 1 : 0;
    const rulesChanged = patch.rules !== undefined && Object.values(patch.rules).some((value) => value !== undefined);
    if (Object.keys(values).length > 0 || rulesChanged) {
      await db.transaction().execute(async (trx) => {
        // `modified` is ON UPDATE CURRENT_TIMESTAMP in MySQL; set it here so both databases agree.
        const result = await trx
          .updateTable('async_event_subscriber')
          .set({ ...values, modified: nowDbDateTime() })
          .where('subscription_id', '=', id)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) > 0 || (await trx.selectFrom('async_event_subscriber').select('subscription_id').where('subscription_id', '=', id).executeTakeFirst())) {
          await writeRules(trx, id, patch.rules);
        }
      });
    }
    const updated = await get(id);
    if (!updated) throw new AsyncEventsError('SUBSCRIPTION_NOT_FOUND', `subscription ${id} does not exist`, { id });
    return updated;
  }

  async function remove(id: number): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      // Log rows go with the subscription (foreign key ON DELETE CASCADE); our own rows are removed here.
      await trx.deleteFrom('async_event_retry').where('subscription_id', '=', id).execute();
      await trx.deleteFrom('async_event_chain').where('subscription_id', '=', id).execute();
      await trx.deleteFrom('async_event_previous_token').where('subscription_id', '=', id).execute();
      await trx.deleteFrom('async_event_subscription_rule').where('subscription_id', '=', id).execute();
      await trx.deleteFrom('async_event_chain_order').where('subscription_id', '=', id).execute();
      const result = await trx.deleteFrom('async_event_subscriber').where('subscription_id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }
}
