import { type Channel, type ChannelModel, connect } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { parseAmqpRecipient } from '../../src/sinks/amqp-recipient.ts';
import { createAmqpSink } from '../../src/sinks/amqp.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { createVhost, deleteVhost, describeWith, freePort, RABBITMQ } from '../support/services.ts';

const payload: EventPayload = { uuid: '0b6c3b8e-1d7a-4a55-9f0e-2f5f3a0d9c11', eventName: 'sales.order.created', storeId: 1, data: '{"entity_id":7,"name":"\\u00fcml"}' };

it('reads recipient URLs and refuses the ones it cannot use, naming the expected form', () => {
  expect(parseAmqpRecipient('amqps://shop@mq.example.com/%2F/orders/magento.sales')).toEqual({
    protocol: 'amqps:', host: 'mq.example.com', port: 5671, username: 'shop', vhost: '/', exchange: 'orders', routingKey: 'magento.sales',
  });
  expect(parseAmqpRecipient('amqp://u@h:5673/v//queue/with/slashes')).toMatchObject({ port: 5673, vhost: 'v', exchange: '', routingKey: 'queue/with/slashes' });
  expect(() => parseAmqpRecipient('amqp://u:secret@h/v/x/k')).toThrow(/password in the verification token/);
  expect(() => parseAmqpRecipient('amqp://h/v/x/k')).toThrow(/names no user/);
  expect(() => parseAmqpRecipient('amqp://u@h/v')).toThrow(/amqp\(s\):\/\/user@host\[:port\]\/vhost\/exchange\/routing-key/);
  expect(() => parseAmqpRecipient('https://u@h/v/x/k')).toThrow(/scheme/);
});

describeWith(['rabbitmq'], 'amqp sink against the real RabbitMQ', () => {
  let vhost: { name: string; url: string };
  let raw: ChannelModel;
  let channel: Channel;
  const sinks: ReturnType<typeof createAmqpSink>[] = [];
  const sink = (allowedTargets = ['127.0.0.1/32']) => {
    const created = createAmqpSink({ logger: silentLogger(), allowedTargets, connectTimeoutMs: 2000 });
    sinks.push(created);
    return created;
  };
  const attempt = (recipientUrl: string, token = RABBITMQ.password): DeliveryAttemptRequest => {
    const subscription: Subscription = { id: 9, eventName: payload.eventName, recipientUrl, verificationToken: token, active: true, subscribedAt: null, modified: null, metadata: 'amqp', storeId: 0 };
    return { subscription, payload, format: 'cloudevents', deathCount: 0 };
  };
  const url = (exchange: string, key: string) => `amqp://${RABBITMQ.user}@${RABBITMQ.host}:${RABBITMQ.port}/${encodeURIComponent(vhost.name)}/${exchange}/${key}`;

  beforeAll(async () => {
    vhost = createVhost('ae_sink');
    raw = await connect(vhost.url);
    channel = await raw.createChannel();
    await channel.assertExchange('shop', 'topic', { durable: false });
    await channel.assertQueue('orders', { durable: false });
    await channel.bindQueue('orders', 'shop', 'sales.#');
  });
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    await raw.close();
    deleteVhost(vhost.name);
  });

  it('publishes the CloudEvent, confirmed, with its content type and message id', async () => {
    const outcome = await sink().deliver(attempt(url('shop', 'sales.order')));
    expect(outcome).toMatchObject({ success: true, retryable: false });
    const message = await channel.get('orders', { noAck: true });
    expect(message).not.toBe(false);
    if (message === false) return;
    expect(message.content.toString('utf8')).toBe(cloudEventBody(payload));
    expect(message.properties).toMatchObject({ contentType: 'application/cloudevents+json; charset=utf-8', messageId: payload.uuid, type: payload.eventName, deliveryMode: 2 });
    expect(message.fields).toMatchObject({ exchange: 'shop', routingKey: 'sales.order' });
  });

  it('publishes through the default exchange to a queue named as routing key', async () => {
    expect(await sink().deliver(attempt(url('', 'orders')))).toMatchObject({ success: true });
    expect(await channel.get('orders', { noAck: true })).not.toBe(false);
  });

  it('treats an unroutable message as a retryable failure (mandatory flag), and a missing exchange as final', async () => {
    const amqp = sink();
    const unroutable = await amqp.deliver(attempt(url('shop', 'catalog.product')));
    expect(unroutable).toMatchObject({ success: false, retryable: true });
    expect(unroutable.responseData).toContain('no queue is bound to exchange "shop" with routing key "catalog.product"');
    const missing = await amqp.deliver(attempt(url('nowhere', 'x')));
    expect(missing).toMatchObject({ success: false, retryable: false });
    expect(missing.responseData).toContain('exchange "nowhere" does not exist');
    // The channel the broker closed is replaced.
    expect(await amqp.deliver(attempt(url('shop', 'sales.again')))).toMatchObject({ success: true });
    expect(await channel.get('orders', { noAck: true })).not.toBe(false);
  });

  it('uses the verification token as password: a wrong one is final and says which setting to fix', async () => {
    const outcome = await sink().deliver(attempt(url('shop', 'sales.order'), 'not-the-password'));
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('verification token');
    expect(outcome.responseData).not.toContain('not-the-password');
  });

  it('retries a broker that is not there, and refuses a private broker that is not allow-listed without connecting', async () => {
    const port = await freePort();
    const down = await sink().deliver(attempt(`amqp://guest@127.0.0.1:${port}/v/shop/k`));
    expect(down).toMatchObject({ success: false, retryable: true });
    expect(down.responseData).toMatch(/ECONNREFUSED/);
    const refused = await sink([]).deliver(attempt(url('shop', 'sales.order')));
    expect(refused).toMatchObject({ success: false, retryable: false });
    expect(refused.responseData).toContain('ASYNC_EVENTS_ALLOWED_TARGETS');
    expect(await channel.get('orders', { noAck: true })).toBe(false);
  });
});
