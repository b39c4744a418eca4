import { createHash } from 'node:crypto';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import { createSqsSink, queueRegionMismatch, type SqsSinkOptions } from '../../src/sinks/sqs.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import { fakeAdminConfig, useFakeAwsEndpoint } from './aws-test-config.ts';
import type { Reply } from './aws-fake-endpoint.ts';

const REGION = 'us-west-2';
const KEY = 'AKIASQSTESTKEY000001';
const SECRET = 'sqs/Secret+Key/0123456789abcdefghijKLMNO';
const OTHER_KEY = 'AKIASQSTESTKEY000002';
const OTHER_SECRET = 'sqs/Other+Key/0123456789abcdefghijKLMNO';
const QUEUE_URL = 'https://sqs.us-west-2.amazonaws.com/123456789012/magento-events';

const encryptor = createEncryptor(['fedcba9876543210fedcba9876543210']);
const data = '{"entity_id":9,"sku":"24-MB01","name":"Joust Duffle Bag \\u2013 \\u00e9"}';
const payload: EventPayload = { uuid: '0f8fad5b-d9cb-469f-a165-70867728950e', eventName: 'catalog.product.saved', storeId: '2', data };
const subscription: Subscription = {
  id: 11,
  eventName: 'catalog.product.saved',
  recipientUrl: QUEUE_URL,
  verificationToken: 'unused',
  active: true,
  subscribedAt: null,
  modified: null,
  metadata: 'sqs',
  storeId: 2,
};
const attempt: DeliveryAttemptRequest = { subscription, payload, format: 'legacy', deathCount: 1 };
const body = cloudEventBody(payload);
const sent = (messageId: string): Reply => ({ status: 200, body: { MD5OfMessageBody: createHash('md5').update(body).digest('hex'), MessageId: messageId } });
/** An SQS error as the JSON protocol answers it, with the query-compatible code header SQS adds. */
const sqsError = (status: number, type: string, queryCode: string, message: string): Reply => ({
  status,
  body: { __type: `com.amazonaws.sqs#${type}`, message },
  headers: { 'x-amzn-query-error': `${queryCode};Sender` },
});

const adminConfig = (values: Record<string, string>) => fakeAdminConfig(values, encryptor);

function configured(overrides: Record<string, string> = {}) {
  return adminConfig({
    'async_events_aws/sqs/access_key': KEY,
    'async_events_aws/sqs/secret_access_key': encryptor.encrypt(SECRET),
    'async_events_aws/sqs/region': REGION,
    ...overrides,
  });
}

describe('sqs sink with the real SDK against a SigV4-checking endpoint', () => {

  const aws = useFakeAwsEndpoint({ service: 'sqs', region: REGION, secrets: { [KEY]: SECRET, [OTHER_KEY]: OTHER_SECRET }, contentType: 'application/x-amz-json-1.0' });

  function sink(admin: ReturnType<typeof adminConfig>, extra: Partial<SqsSinkOptions> = {}) {
    return createSqsSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: aws.fake.url, ...extra });
  }

  it('sends a signed SendMessage with the CloudEvent body and classifies SQS errors', async () => {
    const admin = configured();
    const sqs = sink(admin);
    aws.fake.reply(
      sent('msg-1'),
      sqsError(403, 'RequestThrottled', 'RequestThrottled', 'Request is throttled.'),
      sqsError(400, 'ThrottlingException', 'ThrottlingException', 'Rate exceeded'),
      sqsError(400, 'KmsThrottled', 'KMS.ThrottlingException', 'KMS throttled'),
      sqsError(400, 'KmsDisabled', 'KMS.DisabledException', 'The KMS key is disabled.'),
      sqsError(400, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.'),
      { status: 500, body: { __type: 'com.amazonaws.sqs#InternalError', message: 'internal' } },
    );

    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await sqs.deliver(attempt));
    await sqs.close();

    expect(aws.fake.refused).toEqual([]);
    expect(aws.fake.received).toHaveLength(7);
    const request = aws.fake.received[0];
    expect(request?.accessKeyId).toBe(KEY);
    expect(request?.target).toBe('AmazonSQS.SendMessage');
    expect(request?.contentType).toBe('application/x-amz-json-1.0');
    expect(request?.body).toEqual({ QueueUrl: QUEUE_URL, MessageBody: body });
    expect(admin.decrypted).toContain(admin.store.get('async_events_aws/sqs/secret_access_key'));

    expect(outcomes[0]).toEqual({ success: true, retryable: false, statusCode: 200, responseData: '{"MessageId":"msg-1"}' });
    expect(outcomes.slice(1, 4).map((o) => [o.success, o.retryable])).toEqual([[false, true], [false, true], [false, true]]);
    expect(outcomes[1]?.responseData).toContain('RequestThrottled');
    expect(outcomes[3]?.responseData).toContain('KmsThrottled');
    expect(outcomes[4]).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(outcomes[4]?.responseData).toContain('The KMS key is disabled.');
    expect(outcomes[5]).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(outcomes[5]?.responseData).toContain('AWS.SimpleQueueService.NonExistentQueue');
    expect(outcomes[6]).toMatchObject({ success: false, retryable: true, statusCode: 500 });
  });

  it('is final and names the config paths when AWS refuses the credentials', async () => {
    const admin = configured({ 'async_events_aws/sqs/access_key': 'AKIAUNKNOWNKEY000000' });
    const sqs = sink(admin);
    const outcome = await sqs.deliver(attempt);
    expect(aws.fake.refused.map((r) => r.code)).toEqual(['UnrecognizedClientException']);
    expect(outcome).toMatchObject({ success: false, retryable: false, statusCode: 400 });
    expect(outcome.responseData).toContain('async_events_aws/sqs/access_key');
    expect(outcome.responseData).toContain('async_events_aws/sqs/secret_access_key');
    await sqs.close();
  });

  it('reuses one client per credential set', async () => {
    const made: SQSClient[] = [];
    const admin = configured();
    const sqs = sink(admin, {
      createClient: (config: SQSClientConfig) => {
        const client = new SQSClient(config);
        made.push(client);
        return client;
      },
    });
    aws.fake.reply(sent('a'), sent('b'), sent('c'));
    await sqs.deliver(attempt);
    await sqs.deliver(attempt);
    expect(made).toHaveLength(1);
    admin.store.set('async_events_aws/sqs/access_key', OTHER_KEY);
    admin.store.set('async_events_aws/sqs/secret_access_key', encryptor.encrypt(OTHER_SECRET));
    expect(await sqs.deliver(attempt)).toMatchObject({ success: true, responseData: '{"MessageId":"c"}' });
    expect(made).toHaveLength(2);
    expect(aws.fake.received.map((r) => r.accessKeyId)).toEqual([KEY, KEY, OTHER_KEY]);
    await sqs.close();
  });

  it('sends to AWS_ENDPOINT_URL_SQS with default-chain credentials, never to the host in the queue URL', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', OTHER_KEY);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', OTHER_SECRET);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', aws.fake.url);
    const sqs = createSqsSink({ logger: silentLogger(), config: adminConfig({}).config, decrypt: () => { throw new Error('nothing to decrypt'); } });
    expect(await sqs.unusableReason()).toBeUndefined();
    aws.fake.reply(sent('env-1'), sent('env-2'));
    expect(await sqs.deliver(attempt)).toMatchObject({ success: true, responseData: '{"MessageId":"env-1"}' });
    const elsewhere = { ...attempt, subscription: { ...subscription, recipientUrl: 'http://198.51.100.7:9324/000000000000/q' } };
    expect(await sqs.deliver(elsewhere)).toMatchObject({ success: true, responseData: '{"MessageId":"env-2"}' });
    expect(aws.fake.received.map((r) => [r.accessKeyId, r.body.QueueUrl])).toEqual([[OTHER_KEY, QUEUE_URL], [OTHER_KEY, 'http://198.51.100.7:9324/000000000000/q']]);
    await sqs.close();
  });

  it('refuses, without a request, a queue of another region and missing configuration', async () => {
    const sqs = sink(configured());
    const otherRegion = await sqs.deliver({ ...attempt, subscription: { ...subscription, recipientUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q' } });
    expect(otherRegion).toMatchObject({ success: false, retryable: false });
    expect(otherRegion.responseData).toContain('async_events_aws/sqs/region');

    const noRegion = sink(configured({ 'async_events_aws/sqs/region': '' }));
    const outcome = await noRegion.deliver(attempt);
    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.responseData).toContain('async_events_aws/sqs/region');
    expect(await noRegion.unusableReason()).toContain('async_events_aws/sqs/region');

    const nothing = sink(adminConfig({ 'async_events_aws/sqs/region': REGION }));
    expect(await nothing.unusableReason()).toContain('async_events_aws/sqs/access_key');
    expect(await sqs.unusableReason()).toBeUndefined();

    expect(aws.fake.received).toEqual([]);
    await Promise.all([sqs.close(), noRegion.close(), nothing.close()]);
  });

  it('judges only AWS queue hosts for region', () => {
    expect(queueRegionMismatch('https://sqs.us-west-2.amazonaws.com/1/q', 'us-west-2')).toBeUndefined();
    expect(queueRegionMismatch('https://us-east-1.queue.amazonaws.com/1/q', 'us-west-2')).toContain('us-east-1');
    expect(queueRegionMismatch('http://localhost:4566/000000000000/q', 'us-west-2')).toBeUndefined();
    expect(queueRegionMismatch('not a url', 'us-west-2')).toContain('not a queue URL');
  });
});
