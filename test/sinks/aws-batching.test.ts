import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createEventBridgeSink, type EventBridgeSinkOptions } from '../../src/sinks/eventbridge.ts';
import { cloudEventBody } from '../../src/sinks/payload.ts';
import type { DeliveryAttemptRequest } from '../../src/sinks/sink.ts';
import { createSqsSink } from '../../src/sinks/sqs.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { EventPayload, Subscription } from '../../src/types.ts';
import type { ReceivedAwsRequest } from './aws-fake-endpoint.ts';
import { fakeAdminConfig, useFakeAwsEndpoint } from './aws-test-config.ts';

const REGION = 'eu-west-1';
const KEY = 'AKIABATCHINGTEST0001';
const SECRET = 'batch/Secret+Key/0123456789abcdefghijKL';
const encryptor = createEncryptor(['00112233445566778899aabbccddeeff']);

const payloadFor = (n: number, data = `{"entity_id":${n}}`): EventPayload => ({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, eventName: 'sales.order.created', storeId: 1, data });
const attemptFor = (metadata: string, recipientUrl: string, payload: EventPayload): DeliveryAttemptRequest => {
  const subscription: Subscription = { id: 1, eventName: payload.eventName, recipientUrl, verificationToken: 'unused', active: true, subscribedAt: null, modified: null, metadata, storeId: 0 };
  return { subscription, payload, format: 'cloudevents', deathCount: 0 };
};
type Entry = { Detail: string; EventBusName: string };
const entriesOf = (request: ReceivedAwsRequest | undefined) => (request?.body.Entries ?? []) as Entry[];
const idOf = (detail: string) => (JSON.parse(detail) as { id: string }).id;

describe('eventbridge sink coalesces attempts to the same bus into PutEvents of at most 10 entries and 256 KB', () => {
  const aws = useFakeAwsEndpoint({ service: 'events', region: REGION, secrets: { [KEY]: SECRET }, contentType: 'application/x-amz-json-1.1' });
  const sink = (extra: Partial<EventBridgeSinkOptions> = {}) => {
    const admin = fakeAdminConfig({
      'async_events_aws/eventbridge/access_key': KEY,
      'async_events_aws/eventbridge/secret_access_key': encryptor.encrypt(SECRET),
      'async_events_aws/eventbridge/region': REGION,
      'async_events_aws/eventbridge/source': 'shop.example.com',
    }, encryptor);
    const created = createEventBridgeSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: aws.fake.url, batch: { windowMs: 20 }, ...extra });
    return aws.track(created);
  };
  /** Answers each entry by its position: the 3rd is throttled, the 5th malformed, the rest accepted. */
  const perEntry = (request: ReceivedAwsRequest) => ({
    status: 200,
    body: {
      FailedEntryCount: entriesOf(request).filter((_, i) => i === 2 || i === 4).length,
      Entries: entriesOf(request).map((entry, i) =>
        i === 2 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : i === 4 ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad' } : { EventId: `evt-${idOf(entry.Detail)}` },
      ),
    },
  });


  it('sends 12 ready attempts as 10 + 2 entries and gives each attempt its own entry outcome', async () => {
    aws.fake.reply(perEntry, perEntry);
    const eventbridge = sink();
    const payloads = Array.from({ length: 12 }, (_, n) => payloadFor(n));
    const outcomes = await Promise.all(payloads.map((p) => eventbridge.deliver(attemptFor('eventbridge', 'magento', p))));
    expect(aws.fake.refused).toEqual([]);
    expect(aws.fake.received.map((r) => entriesOf(r).length)).toEqual([10, 2]);
    expect(aws.fake.received.flatMap((r) => entriesOf(r).map((e) => idOf(e.Detail)))).toEqual(payloads.map((p) => p.uuid));
    for (const entry of aws.fake.received.flatMap(entriesOf)) expect(entry.EventBusName).toBe('magento');
    expect(entriesOf(aws.fake.received[0])[0]?.Detail).toBe(cloudEventBody(payloads[0] as EventPayload));

    expect(outcomes[0]).toEqual({ success: true, retryable: false, statusCode: 200, responseData: `{"FailedEntryCount":0,"Entries":[{"EventId":"evt-${payloads[0]?.uuid}"}]}` });
    expect(outcomes[2]).toMatchObject({ success: false, retryable: true, responseData: '{"ErrorCode":"ThrottlingException","ErrorMessage":"slow down"}' });
    expect(outcomes[4]).toMatchObject({ success: false, retryable: false, responseData: '{"ErrorCode":"MalformedDetail","ErrorMessage":"bad"}' });
    expect(outcomes.filter((o) => o.success)).toHaveLength(10);
    expect(outcomes[10]).toMatchObject({ success: true });
    expect(outcomes[11]).toMatchObject({ success: true });
  });

  it('keeps buses apart and cuts a batch before it passes 256 KB', async () => {
    aws.fake.reply(perEntry, perEntry, perEntry, perEntry);
    const eventbridge = sink();
    const big = (n: number) => payloadFor(n, JSON.stringify({ blob: 'x'.repeat(100 * 1024) }));
    await Promise.all([
      eventbridge.deliver(attemptFor('eventbridge', 'bus-a', big(1))),
      eventbridge.deliver(attemptFor('eventbridge', 'bus-b', payloadFor(2))),
      eventbridge.deliver(attemptFor('eventbridge', 'bus-a', big(3))),
      eventbridge.deliver(attemptFor('eventbridge', 'bus-a', big(4))),
    ]);
    const shape = aws.fake.received.map((r) => entriesOf(r).map((e) => `${e.EventBusName}:${idOf(e.Detail).slice(-1)}`));
    expect(shape).toHaveLength(3);
    expect(shape).toContainEqual(['bus-a:1', 'bus-a:3']);
    expect(shape).toContainEqual(['bus-b:2']);
    expect(shape).toContainEqual(['bus-a:4']);
  });

  it('a failed PutEvents request fails every attempt in it the same way', async () => {
    aws.fake.reply({ status: 500, body: { __type: 'InternalException', message: 'boom' } });
    const eventbridge = sink();
    const outcomes = await Promise.all([1, 2, 3].map((n) => eventbridge.deliver(attemptFor('eventbridge', 'magento', payloadFor(n)))));
    expect(aws.fake.received).toHaveLength(1);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ success: false, retryable: true, statusCode: 500 });
  });

  it('sends every attempt alone when batching is off', async () => {
    aws.fake.reply(perEntry, perEntry, perEntry);
    const eventbridge = sink({ batch: { maxEntries: 1 } });
    await Promise.all([1, 2, 3].map((n) => eventbridge.deliver(attemptFor('eventbridge', 'magento', payloadFor(n)))));
    expect(aws.fake.received.map((r) => entriesOf(r).length)).toEqual([1, 1, 1]);
  });
});

describe('sqs sink coalesces attempts to the same queue into SendMessageBatch', () => {
  const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/magento';
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');

  const aws = useFakeAwsEndpoint({ service: 'sqs', region: REGION, secrets: { [KEY]: SECRET }, contentType: 'application/x-amz-json-1.0' });

  it('sends ready attempts as one batch and reads each entry\'s own success or failure', async () => {
    const admin = fakeAdminConfig({ 'async_events_aws/sqs/access_key': KEY, 'async_events_aws/sqs/secret_access_key': encryptor.encrypt(SECRET), 'async_events_aws/sqs/region': REGION }, encryptor);
    const sqs = createSqsSink({ logger: silentLogger(), config: admin.config, decrypt: admin.decrypt, endpoint: aws.fake.url, batch: { windowMs: 20 } });
    aws.track(sqs);
    aws.fake.reply((request) => {
      const entries = request.body.Entries as { Id: string; MessageBody: string }[];
      return {
        status: 200,
        body: {
          Successful: entries.filter((e) => e.Id === '0' || e.Id === '3').map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })),
          Failed: [
            { Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' },
            { Id: '2', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad body' },
          ],
        },
      };
    });
    const payloads = [1, 2, 3, 4].map((n) => payloadFor(n));
    const outcomes = await Promise.all(payloads.map((p) => sqs.deliver(attemptFor('sqs', QUEUE, p))));
    expect(aws.fake.refused).toEqual([]);
    expect(aws.fake.received).toHaveLength(1);
    expect(aws.fake.received[0]?.target).toBe('AmazonSQS.SendMessageBatch');
    expect(aws.fake.received[0]?.body).toEqual({ QueueUrl: QUEUE, Entries: payloads.map((p, i) => ({ Id: String(i), MessageBody: cloudEventBody(p) })) });
    expect(outcomes[0]).toEqual({ success: true, retryable: false, statusCode: 200, responseData: '{"MessageId":"m-0"}' });
    expect(outcomes[1]).toMatchObject({ success: false, retryable: true });
    expect(outcomes[1]?.responseData).toContain('InternalError');
    expect(outcomes[2]).toMatchObject({ success: false, retryable: false });
    expect(outcomes[2]?.responseData).toContain('bad body');
    expect(outcomes[3]).toMatchObject({ success: true, responseData: '{"MessageId":"m-3"}' });
  });
});
