import http from 'node:http';
import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createEventBridgeSink, type EventBridgeSinkOptions } from '../../src/sinks/eventbridge.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { freePort } from '../support/services.ts';
import { fakeAdminConfig, useFakeAwsEndpoint } from './aws-test-config.ts';

const REGION = 'eu-central-1';
const KEY = 'AKIAEVENTBRIDGETEST1';
const SECRET = 'eb/Secret+Key/0123456789abcdefghijKLMN';
const OTHER_KEY = 'AKIAEVENTBRIDGETEST2';
const OTHER_SECRET = 'other/Secret+Key/0123456789abcdefghijK';
const BUS_ARN = 'arn:aws:events:eu-central-1:123456789012:event-bus/magento';

const encryptor = createEncryptor(['0123456789abcdef0123456789abcdef']);
const data = '{"entity_id":7,"link":"https:\\/\\/x.example\\/p","name":"\\u00fcml\\u00e4ut"}';
const payload: EventPayload = { uuid: '5a4cf1b0-5c0e-4ad5-8e4e-6c1f2f3b9d70', eventName: 'sales.order.created', storeId: 1, data };
const subscription: Subscription = {
  id: 3,
  eventName: 'sales.order.created',
  recipientUrl: BUS_ARN,
  verificationToken: 'unused',
  active: true,
  subscribedAt: null,
  modified: null,
  metadata: 'eventbridge',
  storeId: 0,
};
const attempt: DeliveryAttemptRequest = { subscription, payload, format: 'legacy', deathCount: 0 };

/** Live admin config as a map; `decrypt` records what it was asked to decrypt. */
const adminConfig = (values: Record<string, string>) => fakeAdminConfig(values, encryptor);

function configured(overrides: Record<string, string> = {}) {
  return adminConfig({
    'async_events_aws/eventbridge/access_key': KEY,
    'async_events_aws/eventbridge/secret_access_key': encryptor.encrypt(SECRET),
    'async_events_aws/eventbridge/region': REGION,
    'async_events_aws/eventbridge/source': 'shop.example.com',
    ...overrides,
  });
}

describe('eventbridge sink with the real SDK against a SigV4-checking endpoint', () => {

  const aws = useFakeAwsEndpoint({ service: 'events', region: REGION, secrets: { [KEY]: SECRET, [OTHER_KEY]: OTHER_SECRET }, contentType: 'application/x-amz-json-1.1' });

  function sink(admin: ReturnType<typeof adminConfig>, extra: Partial<EventBridgeSinkOptions> = {}) {
    return createEventBridgeSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: aws.fake.url, ...extra });
  }

  it('sends one signed PutEvents entry and reads success, failed entries, throttling and server errors from the response', async () => {
    const admin = configured();
    const eventbridge = sink(admin);
    aws.fake.reply(
      { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] } },
      { status: 200, body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] } },
      { status: 200, body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] } },
      { status: 200, body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }] } },
      { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
      { status: 500, body: { __type: 'InternalException', message: 'boom' } },
      { status: 400, body: { __type: 'ResourceNotFoundException', message: 'Event bus magento does not exist.' } },
    );

    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await eventbridge.deliver(attempt));
    await eventbridge.close();

    expect(aws.fake.refused).toEqual([]);
    expect(aws.fake.received).toHaveLength(7);
    const request = aws.fake.received[0];
    expect(request?.accessKeyId).toBe(KEY);
    expect(request?.target).toBe('AWSEvents.PutEvents');
    expect(request?.contentType).toBe('application/x-amz-json-1.1');
    expect(request?.body).toEqual({
      Entries: [{ Source: 'shop.example.com', DetailType: 'sales.order.created', Detail: cloudEventBody(payload), EventBusName: BUS_ARN }],
    });

    expect(outcomes[0]).toEqual({ success: true, retryable: false, statusCode: 200, responseData: '{"FailedEntryCount":0,"Entries":[{"EventId":"evt-1"}]}' });
    expect(outcomes[1]).toEqual({ success: false, retryable: true, statusCode: 200, responseData: '{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}' });
    expect(outcomes[2]).toMatchObject({ success: false, retryable: true, responseData: '{"ErrorCode":"ThrottlingException","ErrorMessage":"slow down"}' });
    expect(outcomes[3]).toEqual({ success: false, retryable: false, statusCode: 200, responseData: '{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}' });
    expect(outcomes[4]).toMatchObject({ success: false, retryable: true, statusCode: 400 });
    expect(outcomes[4]?.responseData).toContain('ThrottlingException: Rate exceeded');
    expect(outcomes[5]).toMatchObject({ success: false, retryable: true, statusCode: 500 });
    expect(outcomes[6]).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(outcomes[6]?.responseData).toContain('Event bus magento does not exist.');
  });

  it('decrypts the stored secret with the injected encryptor, and a wrong or unknown credential is final and names the config paths', async () => {
    const stored = encryptor.encrypt(SECRET);
    const admin = configured({ 'async_events_aws/eventbridge/secret_access_key': stored });
    const eventbridge = sink(admin);
    aws.fake.reply({ status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'evt-2' }] } });
    expect((await eventbridge.deliver(attempt)).success).toBe(true);
    expect(admin.decrypted).toContain(stored);
    expect(stored).not.toContain(SECRET);

    admin.store.set('async_events_aws/eventbridge/secret_access_key', encryptor.encrypt('not-the-secret'));
    const badSignature = await eventbridge.deliver(attempt);
    expect(aws.fake.refused.at(-1)?.code).toBe('InvalidSignatureException');
    expect(badSignature).toMatchObject({ success: false, retryable: false, statusCode: 403 });
    expect(badSignature.responseData).toContain('InvalidSignatureException');
    expect(badSignature.responseData).toContain('async_events_aws/eventbridge/secret_access_key');

    admin.store.set('async_events_aws/eventbridge/access_key', 'AKIAUNKNOWNKEY000000');
    const unknownKey = await eventbridge.deliver(attempt);
    expect(aws.fake.refused.at(-1)?.code).toBe('UnrecognizedClientException');
    expect(unknownKey).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(unknownKey.responseData).toContain('UnrecognizedClientException');
    expect(unknownKey.responseData).toContain('async_events_aws/eventbridge/access_key');
    await eventbridge.close();
  });

  it('makes one client per credential set and destroys the replaced one', async () => {
    const made: EventBridgeClient[] = [];
    const destroyed: EventBridgeClient[] = [];
    const createClient = (config: EventBridgeClientConfig) => {
      const client = new EventBridgeClient(config);
      const destroy = client.destroy.bind(client);
      client.destroy = () => {
        destroyed.push(client);
        destroy();
      };
      made.push(client);
      return client;
    };
    const admin = configured();
    const eventbridge = sink(admin, { createClient });
    const ok = { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] } };
    aws.fake.reply(ok, ok, ok);

    expect((await eventbridge.deliver(attempt)).success).toBe(true);
    expect((await eventbridge.deliver(attempt)).success).toBe(true);
    expect(await eventbridge.unusableReason()).toBeUndefined();
    expect(made).toHaveLength(1);

    admin.store.set('async_events_aws/eventbridge/access_key', OTHER_KEY);
    admin.store.set('async_events_aws/eventbridge/secret_access_key', encryptor.encrypt(OTHER_SECRET));
    expect((await eventbridge.deliver(attempt)).success).toBe(true);
    expect(made).toHaveLength(2);
    expect(destroyed).toEqual([made[0]]);
    expect(aws.fake.received.map((r) => r.accessKeyId)).toEqual([KEY, KEY, OTHER_KEY]);

    admin.store.set('async_events_aws/eventbridge/region', 'eu-west-1');
    await eventbridge.deliver(attempt); // signed for the wrong region: refused, but on a new client
    expect(aws.fake.refused.at(-1)?.code).toBe('InvalidSignatureException');
    expect(made).toHaveLength(3);

    await eventbridge.close();
    expect(destroyed).toEqual(made);
  });

  it('uses the SDK default chain and AWS_ENDPOINT_URL_EVENTBRIDGE when no key is configured', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', OTHER_KEY);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', OTHER_SECRET);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', aws.fake.url);
    const admin = adminConfig({ 'async_events_aws/eventbridge/source': 'shop.example.com' });
    const eventbridge = createEventBridgeSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt });
    expect(await eventbridge.unusableReason()).toBeUndefined();
    aws.fake.reply({ status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'env' }] } });
    expect(await eventbridge.deliver(attempt)).toMatchObject({ success: true, responseData: '{"FailedEntryCount":0,"Entries":[{"EventId":"env"}]}' });
    expect(aws.fake.received.map((r) => r.accessKeyId)).toEqual([OTHER_KEY]);
    expect(admin.decrypted).toEqual([]);
    await eventbridge.close();
  });

  it('takes the source from the store base URL host when none is configured, and fails clearly without either', async () => {
    const fromConfig = configured({ 'async_events_aws/eventbridge/source': '', 'web/unsecure/base_url': 'https://store.example.org:8443/' });
    const ok = { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] } };
    aws.fake.reply(ok, ok);
    const a = sink(fromConfig);
    expect((await a.deliver(attempt)).success).toBe(true);
    const b = sink(configured({ 'async_events_aws/eventbridge/source': '' }), { storeBaseUrl: async () => 'http://other.example.net/shop/' });
    expect((await b.deliver(attempt)).success).toBe(true);
    expect(aws.fake.received.map((r) => (r.body.Entries as { Source: string }[])[0]?.Source)).toEqual(['store.example.org', 'other.example.net']);

    // Embedded defaults: no admin config and no store base URL, but the sidecar knows Magento's URL.
    aws.fake.reply(ok);
    const c = sink(configured({ 'async_events_aws/eventbridge/source': '' }), { magentoUrl: 'https://magento.example.com/' });
    expect(await c.unusableReason()).toBeUndefined();
    expect((await c.deliver(attempt)).success).toBe(true);
    expect((aws.fake.received.at(-1)?.body.Entries as { Source: string }[])[0]?.Source).toBe('magento.example.com');
    const storeWins = sink(configured({ 'async_events_aws/eventbridge/source': '', 'web/unsecure/base_url': 'https://store.example.org/' }), { magentoUrl: 'https://magento.example.com/' });
    aws.fake.reply(ok);
    expect((await storeWins.deliver(attempt)).success).toBe(true);
    expect((aws.fake.received.at(-1)?.body.Entries as { Source: string }[])[0]?.Source).toBe('store.example.org');

    const none = sink(configured({ 'async_events_aws/eventbridge/source': '' }));
    const outcome = await none.deliver(attempt);
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('async_events_aws/eventbridge/source');
    expect(await none.unusableReason()).toContain('async_events_aws/eventbridge/source');
    expect(outcome.responseData).toContain('ASYNC_EVENTS_MAGENTO_URL');
    expect(aws.fake.received).toHaveLength(4);
    await Promise.all([a.close(), b.close(), c.close(), storeWins.close(), none.close()]);
  });

  it('gives a clear final outcome and unusable reason, without a request, when region or credentials are missing or half set', async () => {
    const noRegion = sink(configured({ 'async_events_aws/eventbridge/region': '' }));
    const outcome = await noRegion.deliver(attempt);
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('async_events_aws/eventbridge/region');
    expect(await noRegion.unusableReason()).toContain('async_events_aws/eventbridge/region');

    const noCredentials = sink(adminConfig({ 'async_events_aws/eventbridge/region': REGION, 'async_events_aws/eventbridge/source': 's' }));
    expect(await noCredentials.unusableReason()).toContain('async_events_aws/eventbridge/access_key');
    const chainFails = await noCredentials.deliver(attempt);
    expect(chainFails).toMatchObject({ success: false, retryable: false });
    expect(chainFails.responseData).toContain('async_events_aws/eventbridge/secret_access_key');
    expect(chainFails.responseData).toContain('no AWS credentials');

    const halfSet = sink(configured({ 'async_events_aws/eventbridge/secret_access_key': '' }));
    const half = await halfSet.deliver(attempt);
    expect(half).toMatchObject({ success: false, retryable: false });
    expect(half.responseData).toContain('async_events_aws/eventbridge/secret_access_key is empty');
    expect(await halfSet.unusableReason()).toContain('async_events_aws/eventbridge/secret_access_key');

    const undecryptable = sink(configured({ 'async_events_aws/eventbridge/secret_access_key': '0:3:bm90IGEgcmVhbCBjaXBoZXJ0ZXh0IGF0IGFsbA==' }));
    const broken = await undecryptable.deliver(attempt);
    expect(broken).toMatchObject({ success: false, retryable: false });
    expect(broken.responseData).toContain('async_events_aws/eventbridge/secret_access_key cannot be decrypted');

    expect(aws.fake.received).toEqual([]);
    expect(aws.fake.refused).toEqual([]);
    await Promise.all([noRegion.close(), noCredentials.close(), halfSet.close(), undecryptable.close()]);
  });

  it('turns an abort into SHUTTING_DOWN instead of an outcome', async () => {
    const eventbridge = sink(configured());
    await expect(eventbridge.deliver({ ...attempt, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await eventbridge.close();
  });

  it('retries when AWS does not answer within the request timeout', async () => {
    const silent = http.createServer(() => undefined);
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const eventbridge = sink(configured(), { endpoint: `http://127.0.0.1:${port}`, requestTimeoutMs: 300 });
    const started = Date.now();
    const outcome = await eventbridge.deliver(attempt);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(outcome).toMatchObject({ success: false, retryable: true });
    await eventbridge.close();
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('refuses a rule ARN as recipient_url without a request', async () => {
    const eventbridge = sink(configured());
    const rule = { ...attempt, subscription: { ...subscription, recipientUrl: 'arn:aws:events:eu-central-1:123456789012:rule/magento-orders' } };
    const outcome = await eventbridge.deliver(rule);
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('event-bus/');
    expect(aws.fake.received).toEqual([]);
    await eventbridge.close();
  });

  it('retries when the endpoint cannot be reached', async () => {
    const closedPort = await freePort();
    const eventbridge = sink(configured(), { endpoint: `http://127.0.0.1:${closedPort}` });
    const outcome = await eventbridge.deliver(attempt);
    expect(outcome).toMatchObject({ success: false, retryable: true });
    expect(outcome.responseData).toContain('ECONNREFUSED');
    await eventbridge.close();
  });
});
