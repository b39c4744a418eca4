import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MARIADB, createDatabase, describeWith, dropDatabase } from '../support/services.ts';
import { HARNESS, generateSample, removeDir } from './support.ts';

const run = promisify(execFile);

/*
 * Magento_MysqlMq's tables (app/code/Magento/MysqlMq/etc/db_schema.xml, reference/magento.md §2.1), created here
 * with minimal DDL so this suite does not depend on the store stage.
 */
function queueTablesDdl(prefix: string): string[] {
  return [
    `CREATE TABLE \`${prefix}queue\` (id int unsigned NOT NULL AUTO_INCREMENT, name varchar(255) NULL, PRIMARY KEY (id), UNIQUE KEY QUEUE_NAME (name))`,
    `CREATE TABLE \`${prefix}queue_message\` (id bigint unsigned NOT NULL AUTO_INCREMENT, topic_name varchar(255) NULL, body longtext NULL, PRIMARY KEY (id))`,
    `CREATE TABLE \`${prefix}queue_message_status\` (
      id bigint unsigned NOT NULL AUTO_INCREMENT, queue_id int unsigned NOT NULL, message_id bigint unsigned NOT NULL,
      updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      status smallint unsigned NOT NULL, number_of_trials smallint unsigned NOT NULL DEFAULT 0,
      PRIMARY KEY (id), UNIQUE KEY (queue_id, message_id), KEY (status, updated_at),
      FOREIGN KEY (queue_id) REFERENCES \`${prefix}queue\` (id) ON DELETE CASCADE,
      FOREIGN KEY (message_id) REFERENCES \`${prefix}queue_message\` (id) ON DELETE CASCADE)`,
  ];
}

interface TopologyXml { config: { exchange: Array<{ name: string; connection?: string; binding: Array<{ topic: string; destination: string }> }> } }

async function readTopology(moduleDir: string): Promise<TopologyXml> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name, _path, _leaf, isAttribute) => !isAttribute && (name === 'exchange' || name === 'binding') });
  return parser.parse(await readFile(path.join(moduleDir, 'etc/queue_topology.xml'), 'utf8')) as TopologyXml;
}

describeWith(['php', 'mariadb'], 'run-observer.php in db mode against MariaDB', () => {
  let moduleDir: string;
  let database: string;
  let db: Connection;
  let topology: TopologyXml;
  const prefix = 'mg_';

  beforeAll(async () => {
    moduleDir = await generateSample();
    topology = await readTopology(moduleDir);
    database = await createDatabase('ae_bridge');
    db = await createConnection({ ...MARIADB, database });
    for (const statement of [...queueTablesDdl(''), ...queueTablesDdl(prefix)]) await db.query(statement);
    // What Magento_MysqlMq's Recurring setup does on setup:upgrade: one `queue` row per topology queue.
    const queues = [...new Set(topology.config.exchange.flatMap((exchange) => exchange.binding.map((binding) => binding.destination)))];
    for (const table of ['queue', `${prefix}queue`]) {
      for (const queue of queues) await db.query(`INSERT INTO \`${table}\` (name) VALUES (?)`, [queue]);
    }
  });

  afterAll(async () => {
    await db?.end();
    if (database) await dropDatabase(database);
    await removeDir(moduleDir);
  });

  /** Queues MysqlMq routes a topic to: exact topic match on exchanges left to the default (db) connection. */
  function dbQueuesFor(topic: string): string[] {
    return topology.config.exchange
      .filter((exchange) => exchange.connection === undefined || exchange.connection === 'db')
      .flatMap((exchange) => exchange.binding.filter((binding) => binding.topic === topic).map((binding) => binding.destination));
  }

  async function observe(tablePrefix: string, args: string[]): Promise<void> {
    await run('php', [path.join(HARNESS, 'run-observer.php'), '--module', moduleDir, '--mode', 'db', '--host', MARIADB.host, '--port', String(MARIADB.port), '--user', MARIADB.user, '--password', MARIADB.password, '--dbname', database, '--table-prefix', tablePrefix, '--queues', dbQueuesFor('event.trigger').join(','), ...args]);
  }

  it('the generated topology gives event.trigger exactly the queue event.trigger in db mode', () => {
    expect(dbQueuesFor('event.trigger')).toEqual(['event.trigger']);
  });

  it('writes one queue_message and one new (status 2) queue_message_status for queue event.trigger', async () => {
    await observe('', ['--event', 'sales.order.created', '--data', '{"id":42,"note":"a/b é"}', '--store-id', '1']);
    const [messages] = await db.query<RowDataPacket[]>('SELECT id, topic_name, body FROM queue_message');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.topic_name).toBe('event.trigger');
    expect(messages[0]?.body).toBe(String.raw`["sales.order.created","{\"id\":42,\"note\":\"a\\\/b \\u00e9\"}","1"]`);
    const [statuses] = await db.query<RowDataPacket[]>('SELECT s.message_id, s.status, s.number_of_trials, q.name FROM queue_message_status s JOIN queue q ON q.id = s.queue_id');
    expect(statuses).toEqual([{ message_id: messages[0]?.id, status: 2, number_of_trials: 0, name: 'event.trigger' }]);
  });

  it("honours the table prefix and publishes the README observer's message", async () => {
    await observe(prefix, ['--observer', 'sales-order', '--event', 'sales.order.created', '--data', '{"id":"17"}']);
    const [rows] = await db.query<RowDataPacket[]>(`SELECT m.topic_name, m.body, s.status, q.name FROM ${prefix}queue_message m JOIN ${prefix}queue_message_status s ON s.message_id = m.id JOIN ${prefix}queue q ON q.id = s.queue_id`);
    expect(rows.map((row) => ({ ...row }))).toEqual([{ topic_name: 'event.trigger', body: '["sales.order.created","{\\"id\\":\\"17\\"}","0"]', status: 2, name: 'event.trigger' }]);
    const [unprefixed] = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM queue_message');
    expect(Number(unprefixed[0]?.n)).toBe(1);
  });
});
