import type { TableName, TableNames } from './schema.ts';
import { foreignKeyName, indexName } from './element-names.ts';

/*
 * CREATE statements for every table the store manages, by dialect. MySQL gets the DDL Magento's declarative
 * schema would produce from the db_schema.xml files (upstream's 4.x `async_event_subscriber*`, Magento_Config's
 * `core_config_data`, Magento_MysqlMq's `queue*`); SQLite gets the same columns with SQLite types and UTC text
 * datetimes. SQLite has no `ON UPDATE CURRENT_TIMESTAMP`: code that updates `modified`/`updated_at` rows sets the
 * column itself (a trigger cannot tell an explicit assignment from none, which MySQL honours).
 *
 * Order matters: a table comes after the tables its foreign keys reference.
 */

export const MANAGED_TABLES = [
  'async_event_subscriber',
  'async_event_subscriber_log',
  'core_config_data',
  'queue',
  'queue_message',
  'queue_message_status',
  'async_event_chain',
  'async_event_retry',
  'async_event_parked_message',
  'async_event_attempt_target',
  'async_event_held_payload',
  'async_event_previous_token',
  'async_event_subscription_health',
  'async_event_subscription_health_hour',
  'async_event_subscription_rule',
  'async_event_chain_order',
  'async_event_publish_order',
] as const satisfies readonly TableName[];

export type ManagedTable = (typeof MANAGED_TABLES)[number];

const UPSTREAM_TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const MAGENTO_TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci';

const q = (name: string): string => `\`${name}\``;
const d = (name: string): string => `"${name}"`;

export function mysqlCreateTable(table: ManagedTable, t: TableNames): string {
  const name = t[table];
  switch (table) {
    case 'async_event_subscriber':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`subscription_id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`event_name\` varchar(255) NOT NULL,
  \`recipient_url\` varchar(1024) NOT NULL,
  \`verification_token\` varchar(255) NOT NULL,
  \`status\` tinyint(1) NOT NULL DEFAULT 0 COMMENT 'Whether the subscription is active or not',
  \`subscribed_at\` datetime DEFAULT NULL,
  \`modified\` datetime NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP,
  \`metadata\` text NOT NULL COMMENT 'Extra information for instantiating notifiers',
  \`store_id\` smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Store ID',
  PRIMARY KEY (\`subscription_id\`)
) ${UPSTREAM_TABLE_OPTIONS}`;
    case 'async_event_subscriber_log':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`log_id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`uuid\` varchar(255) DEFAULT NULL,
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`success\` tinyint(1) NOT NULL,
  \`response_data\` text NOT NULL,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  \`serialized_data\` blob DEFAULT NULL COMMENT 'Data (serialized) that is associated with a delivery.',
  PRIMARY KEY (\`log_id\`),
  KEY ${q(indexName(name, ['uuid']))} (\`uuid\`),
  CONSTRAINT ${q(foreignKeyName(name, 'subscription_id', t.async_event_subscriber, 'subscription_id'))}
    FOREIGN KEY (\`subscription_id\`) REFERENCES ${q(t.async_event_subscriber)} (\`subscription_id\`) ON DELETE CASCADE
) ${UPSTREAM_TABLE_OPTIONS}`;
    case 'core_config_data':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`config_id\` int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Config ID',
  \`scope\` varchar(8) NOT NULL DEFAULT 'default' COMMENT 'Config Scope',
  \`scope_id\` int(11) NOT NULL DEFAULT 0 COMMENT 'Config Scope ID',
  \`path\` varchar(255) NOT NULL DEFAULT 'general' COMMENT 'Config Path',
  \`value\` text DEFAULT NULL COMMENT 'Config Value',
  \`updated_at\` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP COMMENT 'Updated At',
  PRIMARY KEY (\`config_id\`),
  UNIQUE KEY ${q(indexName(name, ['scope', 'scope_id', 'path'], 'unique'))} (\`scope\`, \`scope_id\`, \`path\`)
) ${MAGENTO_TABLE_OPTIONS} COMMENT='Config Data'`;
    case 'queue':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`id\` int(10) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Queue ID',
  \`name\` varchar(255) DEFAULT NULL COMMENT 'Queue name',
  PRIMARY KEY (\`id\`),
  UNIQUE KEY ${q(indexName(name, ['name'], 'unique'))} (\`name\`)
) ${MAGENTO_TABLE_OPTIONS} COMMENT='Table storing unique queues'`;
    case 'queue_message':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Message ID',
  \`topic_name\` varchar(255) DEFAULT NULL COMMENT 'Message topic',
  \`body\` longtext DEFAULT NULL COMMENT 'Message body',
  PRIMARY KEY (\`id\`)
) ${MAGENTO_TABLE_OPTIONS} COMMENT='Queue messages'`;
    case 'queue_message_status':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Relation ID',
  \`queue_id\` int(10) unsigned NOT NULL COMMENT 'Queue ID',
  \`message_id\` bigint(20) unsigned NOT NULL COMMENT 'Message ID',
  \`updated_at\` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP COMMENT 'Updated At',
  \`status\` smallint(5) unsigned NOT NULL COMMENT 'Message status in particular queue',
  \`number_of_trials\` smallint(5) unsigned NOT NULL DEFAULT 0 COMMENT 'Number of trials to processed failed message processing',
  PRIMARY KEY (\`id\`),
  UNIQUE KEY ${q(indexName(name, ['queue_id', 'message_id'], 'unique'))} (\`queue_id\`, \`message_id\`),
  KEY ${q(indexName(name, ['status', 'updated_at']))} (\`status\`, \`updated_at\`),
  CONSTRAINT ${q(foreignKeyName(name, 'message_id', t.queue_message, 'id'))}
    FOREIGN KEY (\`message_id\`) REFERENCES ${q(t.queue_message)} (\`id\`) ON DELETE CASCADE,
  CONSTRAINT ${q(foreignKeyName(name, 'queue_id', t.queue, 'id'))}
    FOREIGN KEY (\`queue_id\`) REFERENCES ${q(t.queue)} (\`id\`) ON DELETE CASCADE
) ${MAGENTO_TABLE_OPTIONS} COMMENT='Relation table to keep associations between queues and messages'`;
    case 'async_event_chain':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`uuid\` varchar(64) NOT NULL,
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`event_name\` varchar(255) NOT NULL,
  \`store_id\` varchar(32) NOT NULL DEFAULT '0',
  \`status\` varchar(16) NOT NULL,
  \`attempts\` int(10) unsigned NOT NULL DEFAULT 0,
  \`death_count\` int(10) unsigned NOT NULL DEFAULT 0,
  \`next_attempt_at\` datetime DEFAULT NULL,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  \`updated\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (\`uuid\`),
  KEY ${q(indexName(name, ['status']))} (\`status\`),
  KEY ${q(indexName(name, ['subscription_id']))} (\`subscription_id\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Async event delivery chains (sidecar)'`;
    case 'async_event_retry':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`retry_id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`uuid\` varchar(64) NOT NULL,
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`death_count\` int(10) unsigned NOT NULL,
  \`content\` longtext NOT NULL,
  \`due_at\` datetime(3) NOT NULL,
  \`locked_until\` datetime(3) DEFAULT NULL,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (\`retry_id\`),
  KEY ${q(indexName(name, ['due_at']))} (\`due_at\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Scheduled async event retries of the database queue (sidecar)'`;
    case 'async_event_parked_message':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`parked_id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`queue_name\` varchar(255) NOT NULL,
  \`body\` longtext NOT NULL,
  \`reason\` text NOT NULL,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (\`parked_id\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Queue messages that cannot be handled, with the reason (sidecar)'`;
    case 'async_event_publish_order':
      // The publish-order reader's cursor over queue_message ids (src/queue/database/publish-order.ts): one row per reader.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`name\` varchar(255) NOT NULL,
  \`position\` bigint(20) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (\`name\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Publish-order reader cursor over queue_message ids (sidecar)'`;
    case 'async_event_held_payload':
      // One row per chain handed to the retry queue before its first attempt, so a lost retry message can be rebuilt.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`uuid\` varchar(64) NOT NULL,
  \`content\` longtext NOT NULL,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (\`uuid\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Payloads of chains waiting for their first attempt (sidecar)'`;
    case 'async_event_attempt_target':
      // No foreign key: the row is written in the attempt's transaction and removed with its log row by the cleanup.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`log_id\` int(10) unsigned NOT NULL,
  \`recipient_url\` varchar(1024) NOT NULL,
  \`sink\` varchar(255) NOT NULL,
  PRIMARY KEY (\`log_id\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Where each delivery attempt went: recipient and sink at the time (sidecar)'`;
    case 'async_event_previous_token':
      // No foreign key, like our other tables: deleting a subscription removes its rows in the same transaction.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`token_id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`verification_token\` varchar(255) NOT NULL,
  \`replaced_at\` datetime NOT NULL,
  PRIMARY KEY (\`token_id\`),
  KEY ${q(indexName(name, ['subscription_id']))} (\`subscription_id\`),
  KEY ${q(indexName(name, ['replaced_at']))} (\`replaced_at\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Replaced verification tokens that still sign during the rotation grace period, encrypted (sidecar)'`;
    case 'async_event_subscription_health':
      // One row per subscription, kept as deliveries happen (src/delivery/health.ts); no foreign key, like the
      // attempt targets: a row of a subscription deleted meanwhile is harmless and goes with the service's delete.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`consecutive_failures\` int(10) unsigned NOT NULL DEFAULT 0,
  \`last_success_at\` datetime DEFAULT NULL,
  \`last_failure_at\` datetime DEFAULT NULL,
  \`last_failure_status\` smallint(5) unsigned DEFAULT NULL,
  \`last_failure_response\` text DEFAULT NULL,
  \`tracked_since\` datetime NOT NULL,
  \`alert_level\` smallint(5) unsigned NOT NULL DEFAULT 0,
  \`dead_alerted_at\` datetime DEFAULT NULL,
  \`dead_unalerted\` int(10) unsigned NOT NULL DEFAULT 0,
  \`disabled_reason\` text DEFAULT NULL,
  \`disabled_at\` datetime DEFAULT NULL,
  \`updated\` datetime NOT NULL,
  PRIMARY KEY (\`subscription_id\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Delivery health of each subscription (sidecar)'`;
    case 'async_event_subscription_health_hour':
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`hour_start\` datetime NOT NULL,
  \`succeeded\` int(10) unsigned NOT NULL DEFAULT 0,
  \`failed\` int(10) unsigned NOT NULL DEFAULT 0,
  \`chains_failed\` int(10) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (\`subscription_id\`, \`hour_start\`),
  KEY ${q(indexName(name, ['hour_start']))} (\`hour_start\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Delivery attempts and failed chains of each subscription per hour (sidecar)'`;
    case 'async_event_subscription_rule':
      // Beside upstream's row, never in it. Unlike our other tables it has a foreign key: the rules mean nothing
      // without their row, and Magento's admin deleting the subscription (not through us) takes them along.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`filter\` text DEFAULT NULL COMMENT 'Lucene query over the event data',
  \`fields\` text DEFAULT NULL COMMENT 'Magento REST fields selection',
  \`headers\` text DEFAULT NULL COMMENT 'Extra http headers, a JSON object',
  \`max_per_second\` double DEFAULT NULL,
  \`ordering\` varchar(16) DEFAULT NULL COMMENT 'entity: one entity''s events in publish order',
  PRIMARY KEY (\`subscription_id\`),
  CONSTRAINT ${q(foreignKeyName(name, 'subscription_id', t.async_event_subscriber, 'subscription_id'))}
    FOREIGN KEY (\`subscription_id\`) REFERENCES ${q(t.async_event_subscriber)} (\`subscription_id\`) ON DELETE CASCADE
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Per-subscription rules: filter, fields, headers, rate, ordering (sidecar)'`;
    case 'async_event_chain_order':
      // The sequence is the publish order: rows are taken in one at a time in the order the trigger queue handed
      // them out. No foreign key: a deleted subscription's rows are removed by the store, and a row must never block
      // a delete by Magento's admin.
      return `CREATE TABLE IF NOT EXISTS ${q(name)} (
  \`sequence\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  \`uuid\` varchar(255) NOT NULL,
  \`subscription_id\` int(10) unsigned NOT NULL,
  \`entity_key\` char(64) NOT NULL COMMENT 'sha256 of the trigger arguments',
  \`message_id\` varchar(255) NOT NULL,
  \`trigger_body\` mediumtext NOT NULL,
  \`started_at\` datetime DEFAULT NULL,
  \`done\` tinyint(1) NOT NULL DEFAULT 0,
  \`created\` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (\`sequence\`),
  UNIQUE KEY ${q(indexName(name, ['uuid'], 'unique'))} (\`uuid\`),
  KEY ${q(indexName(name, ['subscription_id', 'entity_key', 'done', 'sequence']))} (\`subscription_id\`, \`entity_key\`, \`done\`, \`sequence\`),
  KEY ${q(indexName(name, ['done', 'started_at']))} (\`done\`, \`started_at\`)
) ${UPSTREAM_TABLE_OPTIONS} COMMENT='Chains of ordering=entity subscriptions in publish order (sidecar)'`;
  }
}

/** Columns added to our tables after their first release: migrate() adds each one a table lacks. */
export const ADDED_COLUMNS: readonly { readonly table: ManagedTable; readonly column: string; readonly mysql: string; readonly sqlite: string }[] = [
  { table: 'async_event_subscription_rule', column: 'ordering', mysql: "varchar(16) DEFAULT NULL COMMENT 'entity: one entity''s events in publish order'", sqlite: 'TEXT DEFAULT NULL' },
];

/** SQLite: the CREATE TABLE first, then its indexes (all idempotent). */
export function sqliteCreateTable(table: ManagedTable, t: TableNames): string[] {
  const name = t[table];
  const index = (columns: string[], kind: 'index' | 'unique' = 'index'): string =>
    `CREATE ${kind === 'unique' ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${d(indexName(name, columns, kind))} ON ${d(name)} (${columns.map(d).join(', ')})`;
  switch (table) {
    case 'async_event_subscriber':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "subscription_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "event_name" VARCHAR(255) NOT NULL,
  "recipient_url" VARCHAR(1024) NOT NULL,
  "verification_token" VARCHAR(255) NOT NULL,
  "status" INTEGER NOT NULL DEFAULT 0,
  "subscribed_at" TEXT DEFAULT NULL,
  "modified" TEXT DEFAULT NULL,
  "metadata" TEXT NOT NULL,
  "store_id" INTEGER NOT NULL DEFAULT 0
)`,
      ];
    case 'async_event_subscriber_log':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "log_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "uuid" VARCHAR(255) DEFAULT NULL,
  "subscription_id" INTEGER NOT NULL,
  "success" INTEGER NOT NULL,
  "response_data" TEXT NOT NULL,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "serialized_data" BLOB DEFAULT NULL,
  CONSTRAINT ${d(foreignKeyName(name, 'subscription_id', t.async_event_subscriber, 'subscription_id'))}
    FOREIGN KEY ("subscription_id") REFERENCES ${d(t.async_event_subscriber)} ("subscription_id") ON DELETE CASCADE
)`,
        index(['uuid']),
        index(['subscription_id']),
      ];
    case 'core_config_data':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "config_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "scope" VARCHAR(8) NOT NULL DEFAULT 'default',
  "scope_id" INTEGER NOT NULL DEFAULT 0,
  "path" VARCHAR(255) NOT NULL DEFAULT 'general',
  "value" TEXT DEFAULT NULL,
  "updated_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
        index(['scope', 'scope_id', 'path'], 'unique'),
      ];
    case 'queue':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "name" VARCHAR(255) DEFAULT NULL
)`,
        index(['name'], 'unique'),
      ];
    case 'queue_message':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "topic_name" VARCHAR(255) DEFAULT NULL,
  "body" TEXT DEFAULT NULL
)`,
      ];
    case 'queue_message_status':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "queue_id" INTEGER NOT NULL,
  "message_id" INTEGER NOT NULL,
  "updated_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "status" INTEGER NOT NULL,
  "number_of_trials" INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT ${d(foreignKeyName(name, 'message_id', t.queue_message, 'id'))}
    FOREIGN KEY ("message_id") REFERENCES ${d(t.queue_message)} ("id") ON DELETE CASCADE,
  CONSTRAINT ${d(foreignKeyName(name, 'queue_id', t.queue, 'id'))}
    FOREIGN KEY ("queue_id") REFERENCES ${d(t.queue)} ("id") ON DELETE CASCADE
)`,
        index(['queue_id', 'message_id'], 'unique'),
        index(['status', 'updated_at']),
        index(['message_id']),
      ];
    case 'async_event_chain':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "uuid" VARCHAR(64) NOT NULL PRIMARY KEY,
  "subscription_id" INTEGER NOT NULL,
  "event_name" VARCHAR(255) NOT NULL,
  "store_id" VARCHAR(32) NOT NULL DEFAULT '0',
  "status" VARCHAR(16) NOT NULL,
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "death_count" INTEGER NOT NULL DEFAULT 0,
  "next_attempt_at" TEXT DEFAULT NULL,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
        index(['status']),
        index(['subscription_id']),
      ];
    case 'async_event_retry':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "retry_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "uuid" VARCHAR(64) NOT NULL,
  "subscription_id" INTEGER NOT NULL,
  "death_count" INTEGER NOT NULL,
  "content" TEXT NOT NULL,
  "due_at" TEXT NOT NULL,
  "locked_until" TEXT DEFAULT NULL,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
        index(['due_at']),
      ];
    case 'async_event_parked_message':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "parked_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "queue_name" VARCHAR(255) NOT NULL,
  "body" TEXT NOT NULL,
  "reason" TEXT NOT NULL,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
      ];
    case 'async_event_publish_order':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "name" VARCHAR(255) NOT NULL PRIMARY KEY,
  "position" INTEGER NOT NULL DEFAULT 0
)`,
      ];
    case 'async_event_held_payload':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "uuid" VARCHAR(64) NOT NULL PRIMARY KEY,
  "content" TEXT NOT NULL,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
      ];
    case 'async_event_attempt_target':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "log_id" INTEGER NOT NULL PRIMARY KEY,
  "recipient_url" VARCHAR(1024) NOT NULL,
  "sink" VARCHAR(255) NOT NULL
)`,
      ];
    case 'async_event_previous_token':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "token_id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "subscription_id" INTEGER NOT NULL,
  "verification_token" VARCHAR(255) NOT NULL,
  "replaced_at" TEXT NOT NULL
)`,
        index(['subscription_id']),
        index(['replaced_at']),
      ];
    case 'async_event_subscription_health':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "subscription_id" INTEGER NOT NULL PRIMARY KEY,
  "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
  "last_success_at" TEXT DEFAULT NULL,
  "last_failure_at" TEXT DEFAULT NULL,
  "last_failure_status" INTEGER DEFAULT NULL,
  "last_failure_response" TEXT DEFAULT NULL,
  "tracked_since" TEXT NOT NULL,
  "alert_level" INTEGER NOT NULL DEFAULT 0,
  "dead_alerted_at" TEXT DEFAULT NULL,
  "dead_unalerted" INTEGER NOT NULL DEFAULT 0,
  "disabled_reason" TEXT DEFAULT NULL,
  "disabled_at" TEXT DEFAULT NULL,
  "updated" TEXT NOT NULL
)`,
      ];
    case 'async_event_subscription_health_hour':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "subscription_id" INTEGER NOT NULL,
  "hour_start" TEXT NOT NULL,
  "succeeded" INTEGER NOT NULL DEFAULT 0,
  "failed" INTEGER NOT NULL DEFAULT 0,
  "chains_failed" INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY ("subscription_id", "hour_start")
)`,
        index(['hour_start']),
      ];
    case 'async_event_subscription_rule':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "subscription_id" INTEGER NOT NULL PRIMARY KEY,
  "filter" TEXT DEFAULT NULL,
  "fields" TEXT DEFAULT NULL,
  "headers" TEXT DEFAULT NULL,
  "max_per_second" REAL DEFAULT NULL,
  "ordering" TEXT DEFAULT NULL,
  CONSTRAINT ${d(foreignKeyName(name, 'subscription_id', t.async_event_subscriber, 'subscription_id'))}
    FOREIGN KEY ("subscription_id") REFERENCES ${d(t.async_event_subscriber)} ("subscription_id") ON DELETE CASCADE
)`,
      ];
    case 'async_event_chain_order':
      return [
        `CREATE TABLE IF NOT EXISTS ${d(name)} (
  "sequence" INTEGER PRIMARY KEY AUTOINCREMENT,
  "uuid" TEXT NOT NULL,
  "subscription_id" INTEGER NOT NULL,
  "entity_key" TEXT NOT NULL,
  "message_id" TEXT NOT NULL,
  "trigger_body" TEXT NOT NULL,
  "started_at" TEXT DEFAULT NULL,
  "done" INTEGER NOT NULL DEFAULT 0,
  "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
        index(['uuid'], 'unique'),
        index(['subscription_id', 'entity_key', 'done', 'sequence']),
        index(['done', 'started_at']),
      ];
  }
}

/** The only change migrate makes to an existing table: upstream 3.x's recipient_url varchar(255) → 4.x's 1024. */
export function mysqlWidenRecipientUrl(t: TableNames): string {
  return `ALTER TABLE ${q(t.async_event_subscriber)} MODIFY COLUMN \`recipient_url\` varchar(1024) NOT NULL`;
}

export const RECIPIENT_URL_LENGTH = 1024;
