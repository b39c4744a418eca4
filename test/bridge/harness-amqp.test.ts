import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RABBITMQ, createVhost, deleteVhost, describeWith } from '../support/services.ts';
import { HARNESS, generateSample, removeDir } from './support.ts';

const run = promisify(execFile);

interface Binding { exchange: string; topic: string; queue: string }

/** The bindings of the generated queue_topology.xml, which is what Magento's topology installer would declare. */
async function generatedBindings(moduleDir: string): Promise<Binding[]> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name, _path, _leaf, isAttribute) => !isAttribute && (name === 'exchange' || name === 'binding') });
  const topology = parser.parse(await readFile(path.join(moduleDir, 'etc/queue_topology.xml'), 'utf8')) as { config: { exchange: Array<{ name: string; binding: Array<{ topic: string; destination: string }> }> } };
  return topology.config.exchange.flatMap((exchange) => exchange.binding.map((binding) => ({ exchange: exchange.name, topic: binding.topic, queue: binding.destination })));
}

describeWith(['php', 'rabbitmq'], 'run-observer.php in amqp mode against RabbitMQ', () => {
  let moduleDir: string;
  let vhost: { name: string; url: string };
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;

  beforeAll(async () => {
    moduleDir = await generateSample();
    vhost = createVhost('ae_bridge');
    connection = await amqp.connect(vhost.url);
    channel = await connection.createChannel();
    // Declared as Magento's topology installer would from the generated file: durable topic exchanges and
    // durable queues without arguments.
    for (const binding of await generatedBindings(moduleDir)) {
      await channel.assertExchange(binding.exchange, 'topic', { durable: true, autoDelete: false, internal: false });
      await channel.assertQueue(binding.queue, { durable: true, autoDelete: false, exclusive: false });
      await channel.bindQueue(binding.queue, binding.exchange, binding.topic);
    }
  });

  afterAll(async () => {
    await connection?.close();
    if (vhost) deleteVhost(vhost.name);
    await removeDir(moduleDir);
  });

  async function observe(args: string[]): Promise<void> {
    await run('php', [path.join(HARNESS, 'run-observer.php'), '--module', moduleDir, '--mode', 'amqp', '--host', RABBITMQ.host, '--port', String(RABBITMQ.port), '--user', RABBITMQ.user, '--password', RABBITMQ.password, '--vhost', vhost.name, ...args]);
  }

  async function take(queue: string): Promise<amqp.GetMessage> {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) throw new Error(`no message on ${queue}`);
    return message;
  }

  it('the topology routes event.trigger on exchange magento to queue event.trigger', async () => {
    expect(await generatedBindings(moduleDir)).toContainEqual({ exchange: 'magento', topic: 'event.trigger', queue: 'event.trigger' });
  });

  it('puts exactly [name, "<json>", "storeId"] on event.trigger, persistent, with a message_id', async () => {
    await observe(['--event', 'sales.order.created', '--data', '{"id":42,"note":"a/b é"}', '--store-id', '2']);
    const message = await take('event.trigger');
    expect(message.content.toString('utf8')).toBe(String.raw`["sales.order.created","{\"id\":42,\"note\":\"a\\\/b \\u00e9\"}","2"]`);
    expect(JSON.parse(message.content.toString('utf8'))).toEqual(['sales.order.created', '{"id":42,"note":"a\\/b \\u00e9"}', '2']);
    expect(message.fields.exchange).toBe('magento');
    expect(message.fields.routingKey).toBe('event.trigger');
    expect(message.properties.deliveryMode).toBe(2);
    expect(message.properties.messageId).toMatch(/^[0-9a-f]{32}$/);
    expect(message.properties.headers ?? {}).toEqual({});
  });

  it("publishes the README observer's message with store id \"0\" and a fresh message_id each time", async () => {
    await observe(['--observer', 'sales-order', '--event', 'sales.order.created', '--data', '{"id":7}']);
    await observe(['--observer', 'sales-order', '--event', 'sales.order.created', '--data', '{"id":8}']);
    const first = await take('event.trigger');
    const second = await take('event.trigger');
    expect(JSON.parse(first.content.toString('utf8'))).toEqual(['sales.order.created', '{"id":7}', '0']);
    expect(JSON.parse(second.content.toString('utf8'))).toEqual(['sales.order.created', '{"id":8}', '0']);
    expect(first.properties.messageId).not.toBe(second.properties.messageId);
    expect(await channel.get('event.trigger')).toBe(false);
  });
});
