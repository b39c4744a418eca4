import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { type ClientConfig, PubSub } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import { createPubSubSink, type PubSubSinkOptions } from '../../src/sinks/pubsub.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { type PubSubStandIn, startPubSubStandIn } from './pubsub-standin.ts';

const TOPIC = 'projects/shop-prod/topics/magento-orders';
const payload: EventPayload = { uuid: '7d3f7c1e-8a41-4b0c-9d61-3c0f9b2e5a10', eventName: 'sales.order.created', storeId: 1, data: '{"entity_id":7,"name":"\\u00fcml"}' };
const attemptFor = (recipientUrl: string, uuid = payload.uuid): DeliveryAttemptRequest => {
  const subscription: Subscription = { id: 4, eventName: payload.eventName, recipientUrl, verificationToken: 'unused', active: true, subscribedAt: null, modified: null, metadata: 'pubsub', storeId: 0 };
  return { subscription, payload: { ...payload, uuid }, format: 'cloudevents', deathCount: 0 };
};
const noAdc = { HOME: '/nonexistent-home', CLOUDSDK_CONFIG: '/nonexistent-gcloud' };

describe('pubsub sink with @google-cloud/pubsub against a local gRPC Publisher', () => {
  let standIn: PubSubStandIn;
  const sinks: ReturnType<typeof createPubSubSink>[] = [];
  const sink = (values: Record<string, string> = {}, extra: Partial<PubSubSinkOptions> = {}) => {
    const created = createPubSubSink({ logger: silentLogger(), config: { get: async (p) => values[p] }, requestTimeoutMs: 5000, ...extra });
    sinks.push(created);
    return created;
  };

  // One client for the tests that need no special settings: building Google's client takes seconds.
  let shared: ReturnType<typeof createPubSubSink>;
  beforeAll(async () => {
    standIn = await startPubSubStandIn();
    vi.stubEnv('PUBSUB_EMULATOR_HOST', standIn.host);
    shared = createPubSubSink({ logger: silentLogger(), config: { get: async () => undefined }, requestTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await shared.close();
    await standIn.close();
  });
  beforeEach(() => {
    standIn.reset();
    vi.stubEnv('PUBSUB_EMULATOR_HOST', standIn.host);
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', undefined);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    vi.unstubAllEnvs();
  });

  it('publishes the structured CloudEvent as message data to the topic in recipient_url', async () => {
    const pubsub = shared;
    expect(await pubsub.unusableReason()).toBeUndefined();
    standIn.reply({ ok: true });
    const outcome = await pubsub.deliver(attemptFor(TOPIC));
    expect(outcome).toEqual({ success: true, retryable: false, responseData: '{"messageId":"msg-1"}' });
    expect(standIn.received).toHaveLength(1);
    const [request] = standIn.received;
    expect(request?.topic).toBe(TOPIC);
    expect(request?.messages).toHaveLength(1);
    expect(request?.messages[0]?.data.toString('utf8')).toBe(cloudEventBody(payload));
    expect(request?.messages[0]?.attributes).toEqual({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    // Emulator mode, as with Google's libraries: no credentials are sent.
    expect(request?.metadata.authorization).toBeUndefined();
    expect(request?.metadata['x-goog-api-client']).toMatch(/gl-node/);
  });

  it.each([
    ['UNAVAILABLE', status.UNAVAILABLE, true],
    ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED, true],
    ['RESOURCE_EXHAUSTED', status.RESOURCE_EXHAUSTED, true],
    ['ABORTED', status.ABORTED, true],
    ['INTERNAL', status.INTERNAL, true],
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT, false],
    ['NOT_FOUND', status.NOT_FOUND, false],
    ['PERMISSION_DENIED', status.PERMISSION_DENIED, false],
    ['UNAUTHENTICATED', status.UNAUTHENTICATED, false],
  ])('answers %s (gRPC %i) with retryable %s after exactly one request (the client does not retry behind our back)', async (name, code, retryable) => {
    standIn.reply({ code, details: `stand-in says ${name}` });
    const outcome = await shared.deliver(attemptFor(TOPIC));
    expect(outcome).toMatchObject({ success: false, retryable });
    expect(outcome.responseData).toContain(`${name}: stand-in says ${name}`);
    if (code === status.PERMISSION_DENIED || code === status.UNAUTHENTICATED) expect(outcome.responseData).toContain('async_events_gcp/pubsub/adc_path');
    if (code === status.NOT_FOUND) expect(outcome.responseData).toContain('create the topic');
    expect(standIn.received).toHaveLength(1);
  });

  it('sends deliveries that are ready together in one Publish, each with its own outcome', async () => {
    standIn.reply({ ok: true });
    const pubsub = shared;
    const outcomes = await Promise.all(['a', 'b', 'c'].map((id) => pubsub.deliver(attemptFor(TOPIC, `uuid-${id}`))));
    expect(standIn.received).toHaveLength(1);
    expect(standIn.received[0]?.messages.map((m) => JSON.parse(m.data.toString('utf8')).id)).toEqual(['uuid-a', 'uuid-b', 'uuid-c']);
    expect(outcomes.map((o) => o.responseData)).toEqual(['{"messageId":"msg-1"}', '{"messageId":"msg-2"}', '{"messageId":"msg-3"}']);
  });

  it('refuses a recipient_url that is no topic name, without a request', async () => {
    const outcome = await shared.deliver(attemptFor('magento-orders'));
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('projects/<project>/topics/<topic>');
    expect(standIn.received).toEqual([]);
  });

  it('is unusable without credentials, naming the path to set, and makes no request then', async () => {
    vi.stubEnv('PUBSUB_EMULATOR_HOST', undefined);
    const none = sink({}, { env: noAdc });
    expect(await none.unusableReason()).toContain('async_events_gcp/pubsub/adc_path');
    const outcome = await none.deliver(attemptFor(TOPIC));
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('async_events_gcp/pubsub/adc_path');
    const missingFile = sink({ 'async_events_gcp/pubsub/adc_path': '/nonexistent/gcp-adc.json' }, { env: noAdc });
    expect(await missingFile.unusableReason()).toMatch(/async_events_gcp\/pubsub\/adc_path names "\/nonexistent\/gcp-adc.json"/);
    expect(standIn.received).toEqual([]);
  });

  it('hands the adc_path file to Google\'s client as its credentials', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ae-gcp-'));
    const file = path.join(dir, 'gcp-adc.json');
    await writeFile(file, '{}');
    const configs: ClientConfig[] = [];
    const pubsub = sink({ 'async_events_gcp/pubsub/adc_path': file }, {
      env: noAdc,
      createClient: (config) => {
        configs.push(config);
        return new PubSub(config);
      },
    });
    vi.stubEnv('PUBSUB_EMULATOR_HOST', undefined);
    expect(await pubsub.unusableReason()).toBeUndefined();
    vi.stubEnv('PUBSUB_EMULATOR_HOST', standIn.host);
    standIn.reply({ ok: true });
    expect(await pubsub.deliver(attemptFor(TOPIC))).toMatchObject({ success: true });
    expect(configs).toEqual([{ keyFilename: file }]);
  });

  it('close() waits for a publish still in flight', async () => {
    const pubsub = sink();
    standIn.hold();
    standIn.reply({ ok: true });
    const delivery = pubsub.deliver(attemptFor(TOPIC));
    let closed = false;
    const closing = pubsub.close().then(() => (closed = true));
    await vi.waitFor(() => expect(standIn.received).toHaveLength(1), { timeout: 10_000 });
    expect(closed).toBe(false);
    standIn.release();
    await closing;
    expect(await delivery).toMatchObject({ success: true });
  });
});
