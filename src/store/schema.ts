import type { ColumnType, Generated } from 'kysely';

/*
 * Table shapes, by their unprefixed names. The store applies `db.table_prefix` to every table through a Kysely
 * plugin, so code writes `db.selectFrom('async_event_subscriber')` whatever the prefix.
 *
 * Upstream's tables (`async_event_subscriber`, `async_event_subscriber_log`) and Magento's (`core_config_data`,
 * `queue*`) keep their exact columns; the `async_event_chain`, `async_event_retry`,
 * `async_event_parked_message`, `async_event_attempt_target`, `async_event_held_payload`, `async_event_previous_token`
 * and `async_event_subscription_health*` tables are ours.
 * `async_event_parked_message`, `async_event_attempt_target`, `async_event_previous_token`,
 * `async_event_subscription_rule` and `async_event_publish_order` tables are ours.
 */

type Timestamp = ColumnType<Date | string, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | string | null, Date | string | null | undefined, Date | string | null>;

export interface AsyncEventSubscriberTable {
  subscription_id: Generated<number>;
  event_name: string;
  recipient_url: string;
  /** Encrypted with Magento's encryptor (`<keyVersion>:3:<base64>`). */
  verification_token: string;
  /** 0/1 (MySQL boolean = tinyint). */
  status: number;
  subscribed_at: NullableTimestamp;
  modified: NullableTimestamp;
  metadata: string;
  store_id: ColumnType<number, number | undefined, number>;
}

export interface AsyncEventSubscriberLogTable {
  log_id: Generated<number>;
  uuid: string | null;
  subscription_id: number;
  success: number;
  response_data: string;
  created: Timestamp;
  /** BLOB in MySQL: JSON text of what was delivered. */
  serialized_data: ColumnType<string | Buffer | null, string | null | undefined, string | null>;
}

export interface AsyncEventChainTable {
  uuid: string;
  subscription_id: number;
  event_name: string;
  store_id: string;
  status: string;
  attempts: number;
  death_count: number;
  next_attempt_at: NullableTimestamp;
  created: Timestamp;
  updated: Timestamp;
}

/** Scheduled retries of the database-queue mode: a retry message with its due time. */
export interface AsyncEventRetryTable {
  retry_id: Generated<number>;
  uuid: string;
  subscription_id: number;
  death_count: number;
  content: ColumnType<string, string, string>;
  due_at: Timestamp;
  /** Set while a consumer works on the row; a row whose lease ran out is taken again. */
  locked_until: NullableTimestamp;
  created: Timestamp;
}

export interface AsyncEventParkedMessageTable {
  parked_id: Generated<number>;
  queue_name: string;
  body: string;
  reason: string;
  created: Timestamp;
}

/** The retry content of a chain handed to the retry queue before its first attempt (ours). */
export interface AsyncEventHeldPayloadTable {
  uuid: string;
  content: string;
  created: Timestamp;
}

/** Where each attempt went (ours): the recipient and sink of its subscription at the time of the attempt. */
export interface AsyncEventAttemptTargetTable {
  log_id: number;
  recipient_url: string;
  sink: string;
}

/** Replaced verification tokens of a subscription (ours), kept while the rotation grace period lasts. */
export interface AsyncEventPreviousTokenTable {
  token_id: Generated<number>;
  subscription_id: number;
  /** Encrypted like `async_event_subscriber.verification_token`. */
  verification_token: string;
  replaced_at: Timestamp;
}

/** Delivery health of a subscription (ours), kept as attempts are logged; see src/delivery/health.ts. */
export interface AsyncEventSubscriptionHealthTable {
  subscription_id: number;
  /** Chains in a row that ended without a delivery (dead or failed); 0 after a delivered one. */
  consecutive_failures: ColumnType<number, number | undefined, number>;
  last_success_at: NullableTimestamp;
  last_failure_at: NullableTimestamp;
  last_failure_status: number | null;
  last_failure_response: string | null;
  /** The first attempt seen, or the last re-enabling: "no success for N hours" counts from here at the earliest. */
  tracked_since: Timestamp;
  /** Highest `subscription.failing` level (50/70/90/100 %) alerted since the last success. */
  alert_level: ColumnType<number, number | undefined, number>;
  dead_alerted_at: NullableTimestamp;
  /** Failed chains not yet told in a `chain.dead` alert (at most one per hour). */
  dead_unalerted: ColumnType<number, number | undefined, number>;
  disabled_reason: string | null;
  disabled_at: NullableTimestamp;
  updated: Timestamp;
}

/** Attempts and failed chains of a subscription per clock hour (ours): success rates and the auto-disable window. */
export interface AsyncEventSubscriptionHealthHourTable {
  subscription_id: number;
  hour_start: Timestamp;
  succeeded: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  chains_failed: ColumnType<number, number | undefined, number>;
}

/** A subscription's rules beyond upstream's columns (ours); a subscription without rules has no row. */
export interface AsyncEventSubscriptionRuleTable {
  subscription_id: number;
  /** Lucene query (search syntax) over the event data, event_name and store_id. */
  filter: string | null;
  /** Magento REST `fields` selection applied to the data. */
  fields: string | null;
  /** JSON object of extra http headers. */
  headers: string | null;
  max_per_second: number | null;
  /** 'entity': events of one entity are delivered in publish order (delivery/ordered-chains.ts). */
  ordering: string | null;
}

/** A chain of an ordering=entity subscription, in publish order; the lowest not-done row of a group is its head. */
export interface AsyncEventChainOrderTable {
  sequence: Generated<number>;
  uuid: string;
  subscription_id: number;
  /** sha256 (hex) of the trigger's service arguments: events with equal arguments are one entity's. */
  entity_key: string;
  message_id: string;
  /** The trigger message as published: the head's data is fetched from Magento when its turn comes. */
  trigger_body: string;
  /** When a process took the head to start its chain; null while it waits. */
  started_at: NullableTimestamp;
  done: number;
  created: Timestamp;
}

/** The publish-order reader's cursor (ours): every queue_message id up to `position` has been handed out or passed. */
export interface AsyncEventPublishOrderTable {
  name: string;
  /** bigint: mysql2 may return it as a string. */
  position: ColumnType<number | string, number, number>;
}

export interface CoreConfigDataTable {
  config_id: Generated<number>;
  scope: string;
  scope_id: number;
  path: string;
  value: string | null;
  updated_at: Timestamp;
}

export interface QueueTable {
  id: Generated<number>;
  name: string | null;
}

export interface QueueMessageTable {
  id: Generated<number>;
  topic_name: string | null;
  body: string | null;
}

export interface QueueMessageStatusTable {
  id: Generated<number>;
  queue_id: number;
  message_id: number;
  updated_at: Timestamp;
  status: number;
  number_of_trials: ColumnType<number, number | undefined, number>;
}

/** Tables of Magento's integration module, read (never written) for bearer-token auth. */
export interface OauthTokenTable {
  entity_id: Generated<number>;
  consumer_id: number | null;
  admin_id: number | null;
  customer_id: number | null;
  type: string;
  token: string;
  secret: string;
  revoked: number;
  authorized: number;
  user_type: number | null;
  created_at: Timestamp;
}

export interface Database {
  async_event_subscriber: AsyncEventSubscriberTable;
  async_event_subscriber_log: AsyncEventSubscriberLogTable;
  async_event_chain: AsyncEventChainTable;
  async_event_retry: AsyncEventRetryTable;
  async_event_parked_message: AsyncEventParkedMessageTable;
  async_event_attempt_target: AsyncEventAttemptTargetTable;
  async_event_held_payload: AsyncEventHeldPayloadTable;
  async_event_previous_token: AsyncEventPreviousTokenTable;
  async_event_subscription_health: AsyncEventSubscriptionHealthTable;
  async_event_subscription_health_hour: AsyncEventSubscriptionHealthHourTable;
  async_event_subscription_rule: AsyncEventSubscriptionRuleTable;
  async_event_chain_order: AsyncEventChainOrderTable;
  async_event_publish_order: AsyncEventPublishOrderTable;
  core_config_data: CoreConfigDataTable;
  queue: QueueTable;
  queue_message: QueueMessageTable;
  queue_message_status: QueueMessageStatusTable;
  oauth_token: OauthTokenTable;
}

export type TableName = keyof Database;
export type TableNames = Readonly<Record<TableName, string>>;

/** Magento's database-queue status codes (Magento\MysqlMq\Model\QueueManagement). */
export const QueueMessageStatus = {
  NEW: 2,
  IN_PROGRESS: 3,
  COMPLETE: 4,
  RETRY_REQUIRED: 5,
  ERROR: 6,
  TO_BE_DELETED: 7,
} as const;
