import type { Kysely } from 'kysely';
import type { Chain, ChainStatus, DeliveryLogRow, Subscription, SubscriptionRules } from '../types.ts';
import type { ChainOrderRepository } from './chain-order.ts';
import type { PreviousTokenRepository } from './previous-tokens.ts';
import type { Database, TableNames } from './schema.ts';
import type { SubscriptionHealthStore } from './subscription-health.ts';

/**
 * The store: every table the sidecar reads or writes, on Magento's MySQL/MariaDB or on the embedded SQLite file,
 * through one interface. Writes that belong together (a log row and the chain it advances) happen in one
 * transaction, so an acknowledged message always has its outcome on disk.
 */
export interface Store {
  readonly dialect: 'mysql' | 'sqlite';
  /** The query builder, for the parts that run their own SQL on these tables (search, database queue). */
  readonly db: Kysely<Database>;
  /** Real (prefixed) table names. */
  readonly tables: TableNames;
  readonly subscriptions: SubscriptionRepository;
  readonly log: DeliveryLog;
  readonly parked: ParkedMessages;
  readonly configValues: ConfigValues;
  /** Replaced verification tokens that still sign during the rotation grace period. */
  readonly previousTokens: PreviousTokenRepository;
  /** Delivery health per subscription (ours), kept by the health tracker. */
  readonly health: SubscriptionHealthStore;
  /** Chains of ordering=entity subscriptions in publish order (delivery/ordered-chains.ts). */
  readonly chainOrder: ChainOrderRepository;
  /** Creates what is missing; never drops or rewrites data. */
  migrate(): Promise<MigrationReport>;
  /** Cheap round trip for `/readyz` and `doctor`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface MigrationReport {
  readonly created: readonly string[];
  readonly altered: readonly string[];
  readonly unchanged: readonly string[];
}

export interface NewSubscription {
  readonly eventName: string;
  readonly recipientUrl: string;
  readonly verificationToken: string;
  readonly metadata: string;
  readonly storeId?: number;
  readonly active?: boolean;
  /** Rules to set; a rule given as null (or left out) is cleared on update only when given as null. */
  readonly rules?: SubscriptionRulesPatch;
}

/** Each rule: a value sets it, null clears it, undefined keeps it. */
export type SubscriptionRulesPatch = { readonly [K in keyof SubscriptionRules]?: SubscriptionRules[K] | null };

export type SubscriptionPatch = Partial<Omit<NewSubscription, 'eventName'>> & { readonly eventName?: string };

export interface SubscriptionFilter {
  readonly field: 'subscription_id' | 'event_name' | 'recipient_url' | 'status' | 'subscribed_at' | 'modified' | 'metadata' | 'store_id';
  readonly condition: 'eq' | 'neq' | 'like' | 'nlike' | 'in' | 'nin' | 'gt' | 'gteq' | 'lt' | 'lteq' | 'null' | 'notnull' | 'from' | 'to' | 'finset';
  readonly value: string;
}

/** Magento's searchCriteria: filters inside a group are OR-ed, groups are AND-ed. */
export interface SubscriptionCriteria {
  readonly filterGroups?: readonly (readonly SubscriptionFilter[])[];
  readonly sortOrders?: readonly { readonly field: SubscriptionFilter['field']; readonly direction: 'ASC' | 'DESC' }[];
  readonly pageSize?: number;
  readonly currentPage?: number;
}

export interface SubscriptionRepository {
  get(id: number): Promise<Subscription | undefined>;
  list(criteria?: SubscriptionCriteria): Promise<{ readonly items: Subscription[]; readonly totalCount: number }>;
  /**
   * Active subscriptions that receive an event of this store: every subscription of the event when the event's
   * store is 0, else those of that store and those of store 0 (we differ from upstream there, see README).
   * Subscriptions whose event_name is a pattern (`sales.order.*`) are among them when the pattern matches.
   */
  activeFor(eventName: string, storeId: number): Promise<Subscription[]>;
  create(input: NewSubscription): Promise<Subscription>;
  update(id: number, patch: SubscriptionPatch): Promise<Subscription>;
  delete(id: number): Promise<boolean>;
}

/** One attempt's outcome, written with the chain it advances in one transaction. */
export interface AttemptRecord {
  readonly uuid: string;
  readonly subscriptionId: number;
  readonly eventName: string;
  readonly storeId: string;
  readonly success: boolean;
  readonly responseData: string;
  readonly serializedData: string;
  /** Chain state after this attempt. */
  readonly chainStatus: ChainStatus;
  readonly deathCount: number;
  readonly nextAttemptAt: Date | null;
  /** Where the attempt went (the subscription's recipient and sink now); kept beside the log row. */
  readonly recipientUrl?: string;
  readonly sink?: string;
  /** Disable the subscription in the same transaction (the recipient answered 410). */
  readonly disableSubscription?: boolean;
}

export interface LogQuery {
  readonly uuid?: string;
  readonly subscriptionId?: number;
  readonly success?: boolean;
  readonly afterLogId?: number;
  readonly limit?: number;
  readonly order?: 'asc' | 'desc';
}

export interface LogRowWithEvent extends DeliveryLogRow {
  readonly eventName: string;
  /** Where the attempt went; for rows logged before that was kept (or by the PHP module), the subscription's now. */
  readonly recipientUrl: string;
  readonly sink: string;
}

export interface DeliveryLog {
  /** Writes the log row and updates the chain; returns the new log_id. */
  recordAttempt(record: AttemptRecord): Promise<number>;
  /** Creates or resets a chain before its first attempt (new event or replay). */
  openChain(chain: { uuid: string; subscriptionId: number; eventName: string; storeId: string }): Promise<void>;
  /**
   * A chain handed to the retry queue before its first attempt (its lane was full): pending, due at `nextAttemptAt`,
   * with the retry content kept so that the chain survives the loss of its message. A chain past pending is left as is.
   */
  holdChain(chain: { uuid: string; subscriptionId: number; eventName: string; storeId: string; nextAttemptAt: Date; content: string }): Promise<void>;
  /** The content kept by `holdChain`, until the chain's first attempt is logged and the sweep forgets it. */
  heldContent(uuid: string): Promise<string | undefined>;
  /** Forgets held contents of chains past their first attempt (or gone); returns how many went. */
  forgetHeldContents(limit?: number): Promise<number>;
  /** Moves the due time of a pending or retrying chain (its retry was put off). */
  postponeChain(uuid: string, nextAttemptAt: Date): Promise<void>;
  /** Pending or retrying chains due before `dueBefore`, the longest overdue first. */
  overdueChains(query: { dueBefore: Date; limit: number }): Promise<Chain[]>;
  /**
   * Sets an overdue chain's due time if it is still `expected` and the chain still waits: true for the one caller
   * (of every replica) that wins, false when another took it or the chain moved on.
   */
  claimOverdue(uuid: string, expected: Date, nextAttemptAt: Date | null): Promise<boolean>;
  chain(uuid: string): Promise<Chain | undefined>;
  chains(query: { status?: Chain['status']; limit?: number; afterUuid?: string }): Promise<Chain[]>;
  attempts(uuid: string): Promise<LogRowWithEvent[]>;
  rows(query: LogQuery): Promise<LogRowWithEvent[]>;
  count(query?: Pick<LogQuery, 'success' | 'subscriptionId'>): Promise<number>;
  /**
   * Deletes rows created before the cut-off in batches of `batchSize`; returns how many went. `beforeBatch` runs
   * with each batch's log_ids before they are deleted (the search index forgets them); when it throws, that batch
   * and the rest stay.
   */
  deleteOlderThan(cutoff: Date, batchSize?: number, beforeBatch?: (logIds: readonly number[]) => Promise<void>): Promise<number>;
}

export interface ParkedMessage {
  readonly id: number;
  readonly queue: string;
  readonly body: string;
  readonly reason: string;
  readonly created: Date;
}

export interface ParkedMessages {
  park(message: { queue: string; body: string; reason: string }): Promise<number>;
  /** Newest first. */
  list(limit?: number): Promise<ParkedMessage[]>;
  count(): Promise<number>;
  /** Those of the ids that are parked, oldest first; ids not parked are simply absent. */
  get(ids: readonly number[]): Promise<ParkedMessage[]>;
  /** Oldest first, from after `afterId` up to and including `throughId`: a snapshot a redrive of all can walk. */
  page(range: { afterId: number; throughId: number; limit: number }): Promise<ParkedMessage[]>;
  /** Takes messages off the parked list; returns how many were there. */
  remove(ids: readonly number[]): Promise<number>;
}

/** `core_config_data`, default scope: the same table in Magento's MySQL and the embedded SQLite file. */
export interface ConfigValues {
  get(path: string): Promise<string | undefined>;
  /** All default-scope values whose path starts with the prefix. */
  getAll(prefix: string): Promise<Record<string, string>>;
  set(path: string, value: string): Promise<void>;
}
