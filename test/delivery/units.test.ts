import { describe, expect, it } from 'vitest';
import { backoffSeconds, retryDelaySeconds } from '../../src/delivery/backoff.ts';
import { chainUuid } from '../../src/delivery/chain-id.ts';
import { createDeliveryLimiter } from '../../src/delivery/limiter.ts';
import { payloadFromRetryContent, payloadFromSerializedData, rawMember } from '../../src/delivery/retry-content.ts';

describe('backoff', () => {
  it('is quadratic and capped at 60 s', () => {
    expect([1, 2, 3, 4, 5, 7, 8, 100].map(backoffSeconds)).toEqual([1, 4, 9, 16, 25, 49, 60, 60]);
  });

  it('honours Retry-After within [backoff, 3600]', () => {
    expect(retryDelaySeconds(2, 30)).toBe(30);
    expect(retryDelaySeconds(3, 2)).toBe(9);
    expect(retryDelaySeconds(1, 86_400)).toBe(3600);
    expect(retryDelaySeconds(1, -5)).toBe(1);
    expect(retryDelaySeconds(2, 1.2)).toBe(4);
  });
});

describe('chain uuid', () => {
  it('is stable per message and subscription, and a valid v5 UUID', () => {
    const a = chainUuid('5d41402abc4b2a76b9719d911017c592', 3);
    expect(a).toBe(chainUuid('5d41402abc4b2a76b9719d911017c592', 3));
    expect(a).not.toBe(chainUuid('5d41402abc4b2a76b9719d911017c592', 4));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs between installations for the same message id', () => {
    expect(chainUuid('1', 1, 'salt-of-staging')).not.toBe(chainUuid('1', 1, 'salt-of-production'));
  });

  it('is random without a message id', () => {
    expect(chainUuid(undefined, 1)).not.toBe(chainUuid(undefined, 1));
  });
});

describe('delivery limiter', () => {
  it('bounds concurrency globally and per subscription', async () => {
    const limiter = createDeliveryLimiter({ global: 4, perSubscription: 2 });
    const running = new Map<number, number>();
    let peakGlobal = 0;
    const peakPer = new Map<number, number>();
    const task = (sub: number) =>
      limiter.run(sub, async () => {
        running.set(sub, (running.get(sub) ?? 0) + 1);
        peakPer.set(sub, Math.max(peakPer.get(sub) ?? 0, running.get(sub) ?? 0));
        peakGlobal = Math.max(peakGlobal, limiter.active);
        await new Promise((r) => setTimeout(r, 5));
        running.set(sub, (running.get(sub) ?? 1) - 1);
      });
    await Promise.all([1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4].map(task));
    expect(peakGlobal).toBe(4);
    expect(Math.max(...peakPer.values())).toBe(2);
  });

  it('lets other subscriptions through while one is slow', async () => {
    const limiter = createDeliveryLimiter({ global: 10, perSubscription: 1 });
    let release!: () => void;
    const slow = limiter.run(1, () => new Promise<void>((r) => (release = r)));
    const queuedBehindSlow = limiter.run(1, async () => 'second');
    const other = await limiter.run(2, async () => 'fast');
    expect(other).toBe('fast');
    release();
    await slow;
    expect(await queuedBehindSlow).toBe('second');
  });
});

describe('retry content', () => {
  const magentoBytes = '{"increment_id":"CK000000001","url":"https:\\/\\/shop.test\\/","name":"Fusion \\u2013 Blue","total":165.5,"items":[{"sku":"24-MB02"}]}';

  it('takes a member raw, keeping the bytes PHP wrote', () => {
    const text = `{"specversion":"1.0","id":"u","source":"1","type":"sales.order.created","datacontenttype":"application/json","data":${magentoBytes}}`;
    expect(rawMember(text, 'data')).toBe(magentoBytes);
    expect(rawMember(text, 'type')).toBe('"sales.order.created"');
    expect(rawMember('{"a": 12 , "b":[1,{"c":"}"}]}', 'a')).toBe('12');
    expect(rawMember('{"a":{"data":1},"data":[1,{"x":"]"}]}', 'data')).toBe('[1,{"x":"]"}]');
    expect(rawMember('{"a":1}', 'data')).toBeUndefined();
  });

  it('reads 4.x CloudEvent content and 3.x bare data', () => {
    const ce = `{"specversion":"1.0","id":"u1","source":"2","type":"sales.order.created","datacontenttype":"application/json","data":${magentoBytes}}`;
    expect(payloadFromRetryContent(ce, { uuid: 'u1', eventName: 'x', storeId: '0' })).toEqual({ uuid: 'u1', eventName: 'sales.order.created', storeId: '2', data: magentoBytes });
    expect(payloadFromRetryContent(magentoBytes, { uuid: 'u1', eventName: 'sales.order.created', storeId: 0 })).toEqual({ uuid: 'u1', eventName: 'sales.order.created', storeId: 0, data: magentoBytes });
  });

  it('reads 3.x serialized_data {"data":…} for replay', () => {
    expect(payloadFromSerializedData(`{"data":${magentoBytes}}`, { uuid: 'u', eventName: 'e', storeId: 1 }).data).toBe(magentoBytes);
  });
});
