import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createAmqpSink } from '../../src/sinks/amqp.ts';
import { createEventBridgeSink } from '../../src/sinks/eventbridge.ts';
import { createEventGridSink } from '../../src/sinks/eventgrid.ts';
import { createHttpSink } from '../../src/sinks/http.ts';
import { createPubSubSink } from '../../src/sinks/pubsub.ts';
import type { DeliveryAttemptRequest, Sink } from '../../src/sinks/sink.ts';
import { createSqsSink } from '../../src/sinks/sqs.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { createVhost, deleteVhost, missingReason, RABBITMQ } from '../support/services.ts';
import { type FakeAwsEndpoint, startFakeAwsEndpoint } from './aws-fake-endpoint.ts';
import { fakeAdminConfig, isolateAwsEnvironment } from './aws-test-config.ts';
import { type AzureStandIn, startAzureStandIn } from './azure-standin.ts';
import { type PubSubStandIn, startPubSubStandIn } from './pubsub-standin.ts';

/*
 * One contract for every sink, each behind a small adapter that scripts its wire stand-in (or the real RabbitMQ):
 * success, a retryable failure, a final failure, unusable configuration named with the setting to fix and no
 * request made then, and close() waiting for a send in flight.
 */

interface ConformanceTarget {
  readonly key: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A configured sink; each call makes a new one. */
  sink(): Sink;
  /** Scripts the stand-in and returns the attempt that meets that answer. */
  success(): DeliveryAttemptRequest;
  retryable(): DeliveryAttemptRequest;
  final(): DeliveryAttemptRequest;
  /** A sink or attempt that cannot be used, and the setting its reason must name. */
  unusable(): { sink: Sink; attempt: DeliveryAttemptRequest; path: string; sinkKnowsItIsUnusable: boolean };
  /** Requests (or connections) that reached the stand-in so far. */
  requests(): number;
  /** Holds the stand-in's answers, when it can. */
  hold?(): void;
  release?(): void;
}

const encryptor = createEncryptor(['aabbccddeeff00112233445566778899']);
const payload: EventPayload = { uuid: '9e1f0c6a-2b3d-4e5f-8a9b-0c1d2e3f4a5b', eventName: 'sales.order.created', storeId: 1, data: '{"entity_id":1}' };
const attemptTo = (metadata: string, recipientUrl: string, verificationToken = 'token'): DeliveryAttemptRequest => {
  const subscription: Subscription = { id: 21, eventName: payload.eventName, recipientUrl, verificationToken, active: true, subscribedAt: null, modified: null, metadata, storeId: 0 };
  return { subscription, payload, format: 'cloudevents', deathCount: 0 };
};

function httpTarget(): ConformanceTarget {
  let server: http.Server;
  let base = '';
  let count = 0;
  let held: (() => void)[] | undefined;
  return {
    key: 'http',
    async start() {
      server = http.createServer((req, res) => {
        count++;
        req.resume();
        req.on('end', () => {
          const answer = () => res.writeHead(Number((req.url ?? '/200').slice(1)) || 200).end('{}');
          if (held) held.push(answer);
          else answer();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
    sink: () => createHttpSink({ logger: silentLogger(), allowedTargets: ['127.0.0.1/32'] }),
    success: () => attemptTo('http', `${base}/200`),
    retryable: () => attemptTo('http', `${base}/503`),
    final: () => attemptTo('http', `${base}/400`),
    unusable: () => ({ sink: createHttpSink({ logger: silentLogger(), allowedTargets: [] }), attempt: attemptTo('http', 'ftp://127.0.0.1/hook'), path: 'recipient_url', sinkKnowsItIsUnusable: false }),
    requests: () => count,
    hold: () => {
      held = [];
    },
    release: () => {
      for (const answer of held ?? []) answer();
      held = undefined;
    },
  };
}

function awsTarget(key: 'eventbridge' | 'sqs'): ConformanceTarget {
  const REGION = 'ap-southeast-2';
  const KEY_ID = 'AKIACONFORMANCE00001';
  const SECRET = 'conformance/Secret+Key/0123456789abcdef';
  const prefix = `async_events_aws/${key}`;
  const recipient = key === 'eventbridge' ? 'magento' : `https://sqs.${REGION}.amazonaws.com/123456789012/magento`;
  let fake: FakeAwsEndpoint;
  const values = (overrides: Record<string, string> = {}) =>
    fakeAdminConfig({ [`${prefix}/access_key`]: KEY_ID, [`${prefix}/secret_access_key`]: encryptor.encrypt(SECRET), [`${prefix}/region`]: REGION, [`${prefix}/source`]: 'shop.example.com', ...overrides }, encryptor);
  const make = (admin: ReturnType<typeof values>): Sink =>
    key === 'eventbridge'
      ? createEventBridgeSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: fake.url })
      : createSqsSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: fake.url });
  const ok = key === 'eventbridge' ? { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] } } : undefined;
  return {
    key,
    async start() {
      isolateAwsEnvironment();
      fake = await startFakeAwsEndpoint({ service: key === 'eventbridge' ? 'events' : 'sqs', region: REGION, secrets: { [KEY_ID]: SECRET }, contentType: key === 'eventbridge' ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0' });
    },
    async stop() {
      await fake.close();
      vi.unstubAllEnvs();
    },
    sink: () => make(values()),
    success() {
      fake.reply(
        ok ??
          ((request) => {
            const body = String(request.body.MessageBody);
            return { status: 200, body: { MessageId: 'm-1', MD5OfMessageBody: createMd5(body) } };
          }),
      );
      return attemptTo(key, recipient);
    },
    retryable() {
      fake.reply({ status: 500, body: { __type: 'InternalFailure', message: 'boom' } });
      return attemptTo(key, recipient);
    },
    final() {
      fake.reply({ status: 400, body: { __type: 'ValidationException', message: 'bad' } });
      return attemptTo(key, recipient);
    },
    unusable: () => ({ sink: make(values({ [`${prefix}/region`]: '' })), attempt: attemptTo(key, recipient), path: `${prefix}/region`, sinkKnowsItIsUnusable: true }),
    requests: () => fake.received.length + fake.refused.length,
    hold: () => fake.hold(),
    release: () => fake.release(),
  };
}

function pubsubTarget(): ConformanceTarget {
  const TOPIC = 'projects/shop/topics/magento';
  let standIn: PubSubStandIn;
  return {
    key: 'pubsub',
    async start() {
      standIn = await startPubSubStandIn();
      vi.stubEnv('PUBSUB_EMULATOR_HOST', standIn.host);
    },
    async stop() {
      await standIn.close();
      vi.unstubAllEnvs();
    },
    sink: () => createPubSubSink({ logger: silentLogger(), config: { get: async () => undefined }, requestTimeoutMs: 5000 }),
    success() {
      standIn.reply({ ok: true });
      return attemptTo('pubsub', TOPIC);
    },
    retryable() {
      standIn.reply({ code: status.UNAVAILABLE, details: 'down' });
      return attemptTo('pubsub', TOPIC);
    },
    final() {
      standIn.reply({ code: status.INVALID_ARGUMENT, details: 'bad' });
      return attemptTo('pubsub', TOPIC);
    },
    unusable: () => ({
      sink: createPubSubSink({ logger: silentLogger(), config: { get: async () => undefined }, env: { HOME: '/nonexistent', CLOUDSDK_CONFIG: '/nonexistent' } }),
      attempt: attemptTo('pubsub', TOPIC),
      path: 'async_events_gcp/pubsub/adc_path',
      sinkKnowsItIsUnusable: true,
    }),
    requests: () => standIn.received.length,
    hold: () => standIn.hold(),
    release: () => standIn.release(),
  };
}

function eventgridTarget(): ConformanceTarget {
  const principal = { tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1' };
  let standIn: AzureStandIn;
  const make = (values: Record<string, string>) => {
    const admin = fakeAdminConfig(values, encryptor);
    return createEventGridSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, allowedTargets: ['127.0.0.1/32'], env: { AZURE_AUTHORITY_HOST: standIn.url } });
  };
  return {
    key: 'eventgrid',
    async start() {
      standIn = await startAzureStandIn(principal);
    },
    stop: async () => standIn.close(),
    sink: () =>
      make({
        'async_events_azure/service_principal/tenant_id': principal.tenantId,
        'async_events_azure/service_principal/client_id': principal.clientId,
        'async_events_azure/service_principal/client_secret': encryptor.encrypt(principal.clientSecret),
      }),
    success() {
      standIn.replyEvents({ status: 200 });
      return attemptTo('eventgrid', `${standIn.url}/api/events`);
    },
    retryable() {
      standIn.replyEvents({ status: 503 });
      return attemptTo('eventgrid', `${standIn.url}/api/events`);
    },
    final() {
      standIn.replyEvents({ status: 400, body: '{"error":{"code":"BadRequest"}}' });
      return attemptTo('eventgrid', `${standIn.url}/api/events`);
    },
    unusable: () => ({
      sink: make({ 'async_events_azure/service_principal/tenant_id': principal.tenantId, 'async_events_azure/service_principal/client_id': principal.clientId }),
      attempt: attemptTo('eventgrid', `${standIn.url}/api/events`),
      path: 'async_events_azure/service_principal/client_secret',
      sinkKnowsItIsUnusable: true,
    }),
    requests: () => standIn.tokenRequests.length + standIn.events.length,
    hold: () => standIn.hold(),
    release: () => standIn.release(),
  };
}

function amqpTarget(): ConformanceTarget {
  let vhost: { name: string; url: string };
  let raw: ChannelModel;
  let channel: Channel;
  // Counts connection attempts to where the unusable recipient points, to show none is made.
  let counter: net.Server;
  let connections = 0;
  const to = (exchange: string, key: string) => attemptTo('amqp', `amqp://${RABBITMQ.user}@${RABBITMQ.host}:${RABBITMQ.port}/${encodeURIComponent(vhost.name)}/${exchange}/${key}`, RABBITMQ.password);
  return {
    key: 'amqp',
    async start() {
      vhost = createVhost('ae_conf');
      raw = await connect(vhost.url);
      channel = await raw.createChannel();
      await channel.assertExchange('shop', 'direct', { durable: false });
      await channel.assertQueue('events', { durable: false });
      await channel.bindQueue('events', 'shop', 'bound');
      counter = net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
    },
    async stop() {
      await raw.close();
      deleteVhost(vhost.name);
      await new Promise((resolve) => counter.close(resolve));
    },
    sink: () => createAmqpSink({ logger: silentLogger(), allowedTargets: ['127.0.0.1/32'] }),
    success: () => to('shop', 'bound'),
    retryable: () => to('shop', 'nobody-bound'),
    final: () => to('missing-exchange', 'bound'),
    unusable: () => ({
      sink: createAmqpSink({ logger: silentLogger(), allowedTargets: ['127.0.0.1/32'] }),
      attempt: attemptTo('amqp', `amqp://guest:inline-password@127.0.0.1:${(counter.address() as AddressInfo).port}/v/shop/bound`),
      path: 'recipient_url',
      sinkKnowsItIsUnusable: false,
    }),
    requests: () => connections,
  };
}

function createMd5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

const targets: { target: ConformanceTarget; skip?: string }[] = [
  { target: httpTarget() },
  { target: awsTarget('eventbridge') },
  { target: awsTarget('sqs') },
  { target: pubsubTarget() },
  { target: eventgridTarget() },
  { target: amqpTarget(), ...(missingReason('rabbitmq') !== undefined && process.env.CI !== 'true' ? { skip: missingReason('rabbitmq') } : {}) },
];

for (const { target, skip } of targets) {
  (skip ? describe.skip : describe)(`sink conformance: ${target.key}`, () => {
    const open: Sink[] = [];
    const track = (sink: Sink) => {
      open.push(sink);
      return sink;
    };
    let shared: Sink;
    beforeAll(async () => {
      await target.start();
      shared = track(target.sink());
    });
    afterEach(() => target.release?.());
    afterAll(async () => {
      await Promise.allSettled(open.map((sink) => sink.close()));
      await target.stop();
    });

    it('registers under its metadata key and is usable when configured', async () => {
      expect(shared.key).toBe(target.key);
      expect(await shared.unusableReason()).toBeUndefined();
    });

    it('succeeds', async () => {
      expect(await shared.deliver(target.success())).toMatchObject({ success: true, retryable: false });
    });

    it('reports a retryable failure', async () => {
      expect(await shared.deliver(target.retryable())).toMatchObject({ success: false, retryable: true });
    });

    it('reports a final failure', async () => {
      expect(await shared.deliver(target.final())).toMatchObject({ success: false, retryable: false });
    });

    it('names the setting to fix when unusable, and sends nothing', async () => {
      const { sink, attempt, path, sinkKnowsItIsUnusable } = target.unusable();
      track(sink);
      const before = target.requests();
      if (sinkKnowsItIsUnusable) expect(await sink.unusableReason()).toContain(path);
      const outcome = await sink.deliver(attempt);
      expect(outcome).toMatchObject({ success: false, retryable: false });
      expect(outcome.responseData).toContain(path);
      expect(target.requests()).toBe(before);
    });

    it('close() waits for a send in flight', async () => {
      const sink = track(target.sink());
      const before = target.requests();
      target.hold?.();
      const order: string[] = [];
      const attempt = target.success();
      const delivered = sink.deliver(attempt).then((outcome) => {
        order.push('delivered');
        return outcome;
      });
      if (target.hold) await vi.waitFor(() => expect(target.requests()).toBeGreaterThan(before), { timeout: 10_000 });
      const closed = sink.close().then(() => order.push('closed'));
      if (target.release) {
        // Give a close() that does not wait every chance to finish first.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(order).toEqual([]);
        target.release();
      }
      await closed;
      expect(order).toEqual(['delivered', 'closed']);
      expect(await delivered).toMatchObject({ success: true });
    });
  });
}
