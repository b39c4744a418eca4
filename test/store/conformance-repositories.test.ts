import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { createEncryptor } from '../../src/store/encryptor.ts';
import type { AttemptRecord, Store, SubscriptionCriteria } from '../../src/store/store.ts';
import type { Subscription } from '../../src/types.ts';
import { describeWith } from '../support/services.ts';
import { BACKENDS, CRYPT_KEY, openStore } from './backends.ts';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const execFileAsync = promisify(execFile);

const ids = (items: readonly Subscription[]): number[] => items.map((s) => s.id);

describe.each(BACKENDS)('store repositories conformance on $name', (backend) => {
  describeWith(backend.services, `repositories (${backend.name})`, () => {
    let store: Store;
    let settings: Awaited<ReturnType<typeof backend.newDatabase>>['settings'];
    let drop: () => Promise<void>;

    beforeAll(async () => {
      ({ settings, drop } = await backend.newDatabase());
      store = await openStore(settings, 'ae_');
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    function subscribe(eventName: string, extra: Partial<{ recipientUrl: string; storeId: number; active: boolean; metadata: string }> = {}) {
      return store.subscriptions.create({
        eventName,
        recipientUrl: extra.recipientUrl ?? `https://example.com/${eventName}`,
        verificationToken: `token-of-${eventName}`,
        metadata: extra.metadata ?? 'http',
        ...(extra.storeId === undefined ? {} : { storeId: extra.storeId }),
        ...(extra.active === undefined ? {} : { active: extra.active }),
      });
    }

    describe('subscriptions', () => {
      it('creates with subscribed_at now, status 1, store 0 and an encrypted token', async () => {
        const before = Date.now() - 2000;
        const sub = await subscribe('crud.created');
        expect(sub).toMatchObject({ eventName: 'crud.created', recipientUrl: 'https://example.com/crud.created', active: true, storeId: 0, metadata: 'http', modified: null });
        expect(sub.verificationToken).toBe('token-of-crud.created');
        expect(sub.subscribedAt!.getTime()).toBeGreaterThanOrEqual(before);
        expect(sub.subscribedAt!.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
        const raw = await store.db.selectFrom('async_event_subscriber').select(['verification_token', 'status']).where('subscription_id', '=', sub.id).executeTakeFirstOrThrow();
        expect(raw.verification_token).toMatch(/^0:3:/);
        expect(createEncryptor([CRYPT_KEY]).decrypt(raw.verification_token)).toBe('token-of-crud.created');
        expect(Number(raw.status)).toBe(1);
        expect(await store.subscriptions.get(sub.id)).toEqual(sub);
        expect(await store.subscriptions.get(999_999)).toBeUndefined();
      });

      it('creates inactive or store-scoped subscriptions when asked', async () => {
        const sub = await subscribe('crud.scoped', { storeId: 3, active: false });
        expect(sub).toMatchObject({ storeId: 3, active: false });
      });

      it('updates only the given fields and stamps modified', async () => {
        const sub = await subscribe('crud.update');
        const recipient = await store.subscriptions.update(sub.id, { recipientUrl: 'https://example.com/moved' });
        expect(recipient).toMatchObject({ recipientUrl: 'https://example.com/moved', metadata: 'http', storeId: 0, active: true, verificationToken: 'token-of-crud.update' });
        expect(recipient.modified).not.toBeNull();
        expect(recipient.subscribedAt).toEqual(sub.subscribedAt);
        const token = await store.subscriptions.update(sub.id, { verificationToken: 'rotated' });
        expect(token).toMatchObject({ verificationToken: 'rotated', recipientUrl: 'https://example.com/moved' });
        const rest = await store.subscriptions.update(sub.id, { metadata: 'eventbridge', active: false, storeId: 2 });
        expect(rest).toMatchObject({ metadata: 'eventbridge', active: false, storeId: 2, recipientUrl: 'https://example.com/moved', verificationToken: 'rotated', eventName: 'crud.update' });
        const error = await rejection(store.subscriptions.update(999_999, { active: true }));
        expect(isAsyncEventsError(error, 'SUBSCRIPTION_NOT_FOUND')).toBe(true);
      });

      it('refuses values the columns cannot hold, naming the field, and writes nothing', async () => {
        const error = await rejection(subscribe('crud.invalid', { recipientUrl: `https://example.com/${'x'.repeat(1100)}` }));
        expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
        expect((error as Error).message).toMatch(/^recipient_url: /);
        const long = await rejection(store.subscriptions.create({ eventName: 'crud.invalid', recipientUrl: 'https://e.com', verificationToken: 'x'.repeat(300), metadata: 'http' }));
        expect((long as Error).message).toMatch(/^verification_token: /);
        expect((await store.subscriptions.list({ filterGroups: [[{ field: 'event_name', condition: 'eq', value: 'crud.invalid' }]] })).totalCount).toBe(0);
      });

      it('deletes a subscription with its log rows and chains', async () => {
        const sub = await subscribe('crud.delete');
        const uuid = randomUUID();
        await store.log.openChain({ uuid, subscriptionId: sub.id, eventName: 'crud.delete', storeId: '0' });
        await store.log.recordAttempt(attempt(sub.id, uuid, 'crud.delete', { success: true, chainStatus: 'delivered' }));
        expect(await store.subscriptions.delete(sub.id)).toBe(true);
        expect(await store.subscriptions.get(sub.id)).toBeUndefined();
        expect(await store.log.attempts(uuid)).toEqual([]);
        expect(await store.log.chain(uuid)).toBeUndefined();
        expect(await store.subscriptions.delete(sub.id)).toBe(false);
      });

      it('reads plain-text tokens written by upstream fixtures as they are', async () => {
        const result = await store.db
          .insertInto('async_event_subscriber')
          .values({ event_name: 'crud.plain', recipient_url: 'https://mock.codes/503', verification_token: 'secret', status: 1, metadata: 'http' })
          .executeTakeFirstOrThrow();
        const sub = await store.subscriptions.get(Number(result.insertId));
        expect(sub).toMatchObject({ verificationToken: 'secret', subscribedAt: null });
      });

      it('lists every row even when one token was encrypted with a key this process lacks', async () => {
        const foreign = createEncryptor(['F'.repeat(32), 'G'.repeat(32)]).encrypt('other');
        await store.db
          .insertInto('async_event_subscriber')
          .values({ event_name: 'crud.foreign', recipient_url: 'https://e.com', verification_token: foreign, status: 1, metadata: 'http' })
          .execute();
        const [sub] = await store.subscriptions.activeFor('crud.foreign', 0);
        expect(sub?.eventName).toBe('crud.foreign');
        let thrown: unknown;
        try {
          void sub?.verificationToken;
        } catch (error) {
          thrown = error;
        }
        expect(isAsyncEventsError(thrown, 'DECRYPT_FAILED')).toBe(true);
      });
    });

    describe('searchCriteria', () => {
      let s1: Subscription, s2: Subscription, s3: Subscription, s4: Subscription;
      const scope = { field: 'event_name', condition: 'like', value: 'crit.%' } as const;
      const search = async (groups: SubscriptionCriteria['filterGroups'] = [], rest: Omit<SubscriptionCriteria, 'filterGroups'> = {}) => {
        const result = await store.subscriptions.list({ filterGroups: [[scope], ...groups], ...rest });
        return { ids: ids(result.items), total: result.totalCount };
      };

      beforeAll(async () => {
        s1 = await subscribe('crit.alpha', { recipientUrl: 'https://a.example/1', storeId: 0 });
        s2 = await subscribe('crit.beta', { recipientUrl: 'https://b.example/2', storeId: 1, metadata: 'eventbridge' });
        s3 = await subscribe('crit.gamma', { recipientUrl: 'https://c.example/3', storeId: 2, active: false });
        s4 = await subscribe('crit.alpha', { recipientUrl: 'https://d.example/4', storeId: 1, metadata: 'http,sqs' });
        s3 = await store.subscriptions.update(s3.id, { metadata: 'http' });
      });

      it('eq, and OR inside a group, AND across groups', async () => {
        expect(await search([[{ field: 'event_name', condition: 'eq', value: 'crit.alpha' }]])).toEqual({ ids: [s1.id, s4.id], total: 2 });
        expect(
          (await search([[{ field: 'event_name', condition: 'eq', value: 'crit.beta' }, { field: 'store_id', condition: 'eq', value: '2' }]])).ids,
        ).toEqual([s2.id, s3.id]);
        expect(
          (await search([[{ field: 'metadata', condition: 'eq', value: 'http' }], [{ field: 'status', condition: 'eq', value: '1' }]])).ids,
        ).toEqual([s1.id]);
      });

      it('neq, like, nlike, in, nin', async () => {
        expect((await search([[{ field: 'store_id', condition: 'neq', value: '1' }]])).ids).toEqual([s1.id, s3.id]);
        expect((await search([[{ field: 'recipient_url', condition: 'like', value: '%example/2' }]])).ids).toEqual([s2.id]);
        expect((await search([[{ field: 'recipient_url', condition: 'nlike', value: '%a.example%' }]])).ids).toEqual([s2.id, s3.id, s4.id]);
        expect((await search([[{ field: 'store_id', condition: 'in', value: '1, 2' }]])).ids).toEqual([s2.id, s3.id, s4.id]);
        expect((await search([[{ field: 'store_id', condition: 'nin', value: '1,2' }]])).ids).toEqual([s1.id]);
        expect((await search([[{ field: 'event_name', condition: 'in', value: 'crit.beta,crit.gamma' }]])).ids).toEqual([s2.id, s3.id]);
      });

      it('gt, gteq, lt, lteq, from, to', async () => {
        expect((await search([[{ field: 'subscription_id', condition: 'gt', value: String(s2.id) }]])).ids).toEqual([s3.id, s4.id]);
        expect((await search([[{ field: 'subscription_id', condition: 'gteq', value: String(s2.id) }]])).ids).toEqual([s2.id, s3.id, s4.id]);
        expect((await search([[{ field: 'subscription_id', condition: 'lt', value: String(s2.id) }]])).ids).toEqual([s1.id]);
        expect((await search([[{ field: 'subscription_id', condition: 'lteq', value: String(s2.id) }]])).ids).toEqual([s1.id, s2.id]);
        expect(
          (await search([[{ field: 'subscription_id', condition: 'from', value: String(s2.id) }], [{ field: 'subscription_id', condition: 'to', value: String(s3.id) }]])).ids,
        ).toEqual([s2.id, s3.id]);
        expect((await search([[{ field: 'subscribed_at', condition: 'gteq', value: '2000-01-01 00:00:00' }]])).total).toBe(4);
      });

      it('null, notnull, finset', async () => {
        expect((await search([[{ field: 'modified', condition: 'notnull', value: '' }]])).ids).toEqual([s3.id]);
        expect((await search([[{ field: 'modified', condition: 'null', value: '' }]])).ids).toEqual([s1.id, s2.id, s4.id]);
        expect((await search([[{ field: 'metadata', condition: 'finset', value: 'sqs' }]])).ids).toEqual([s4.id]);
        expect((await search([[{ field: 'metadata', condition: 'finset', value: 'http' }]])).ids).toEqual([s1.id, s3.id, s4.id]);
      });

      it('sort orders, pageSize/currentPage and a totalCount that ignores paging', async () => {
        expect((await search([], { sortOrders: [{ field: 'store_id', direction: 'DESC' }] })).ids).toEqual([s3.id, s2.id, s4.id, s1.id]);
        expect((await search([], { sortOrders: [{ field: 'event_name', direction: 'ASC' }, { field: 'subscription_id', direction: 'DESC' }] })).ids).toEqual([
          s4.id, s1.id, s2.id, s3.id,
        ]);
        expect(await search([], { pageSize: 2, currentPage: 2 })).toEqual({ ids: [s3.id, s4.id], total: 4 });
        expect(await search([], { pageSize: 3 })).toEqual({ ids: [s1.id, s2.id, s3.id], total: 4 });
        expect(await search([], { pageSize: 2, currentPage: 5 })).toEqual({ ids: [], total: 4 });
      });

      it('names the offending filter of bad criteria', async () => {
        const field = await rejection(search([[{ field: 'verification_token' as 'metadata', condition: 'eq', value: 'x' }]]));
        expect(isAsyncEventsError(field, 'VALIDATION_FAILED')).toBe(true);
        expect((field as Error).message).toContain('searchCriteria[filter_groups][1][filters][0][field]');
        const condition = await rejection(search([[{ field: 'store_id', condition: 'between' as 'eq', value: '1' }]]));
        expect((condition as Error).message).toContain('[condition_type]');
        const number = await rejection(search([[{ field: 'store_id', condition: 'eq', value: 'one' }]]));
        expect((number as Error).message).toContain('[value]');
        const page = await rejection(search([], { pageSize: 0 }));
        expect((page as Error).message).toContain('searchCriteria[pageSize]');
      });
    });

    describe('activeFor', () => {
      it('store 0 events reach every store; others reach their store and store 0; names are case-sensitive', async () => {
        const all = await subscribe('store.rule', { storeId: 0 });
        const one = await subscribe('store.rule', { storeId: 1 });
        const two = await subscribe('store.rule', { storeId: 2 });
        await subscribe('store.rule', { storeId: 1, active: false });
        const upper = await subscribe('Store.Rule', { storeId: 0 });
        expect(ids(await store.subscriptions.activeFor('store.rule', 0))).toEqual([all.id, one.id, two.id]);
        expect(ids(await store.subscriptions.activeFor('store.rule', 1))).toEqual([all.id, one.id]);
        expect(ids(await store.subscriptions.activeFor('store.rule', 2))).toEqual([all.id, two.id]);
        expect(ids(await store.subscriptions.activeFor('store.rule', 7))).toEqual([all.id]);
        expect(ids(await store.subscriptions.activeFor('Store.Rule', 0))).toEqual([upper.id]);
        expect(await store.subscriptions.activeFor('STORE.RULE', 0)).toEqual([]);
      });

      it('includes subscriptions whose event_name is a pattern matching the event, store rules alike', async () => {
        const exact = await subscribe('wild.order.created');
        const prefix = await subscribe('wild.order.*');
        const suffix = await subscribe('*.wildcreated', { storeId: 2 });
        const one = await subscribe('wild.order.?reated', { storeId: 1 });
        await subscribe('wild.order.*', { active: false });
        await subscribe('Wild.Order.*');
        expect(ids(await store.subscriptions.activeFor('wild.order.created', 0))).toEqual([exact.id, prefix.id, one.id]);
        expect(ids(await store.subscriptions.activeFor('wild.order.created', 2))).toEqual([exact.id, prefix.id]);
        expect(ids(await store.subscriptions.activeFor('wild.order.updated', 1))).toEqual([prefix.id]);
        expect(ids(await store.subscriptions.activeFor('customer.wildcreated', 2))).toEqual([suffix.id]);
        expect(await store.subscriptions.activeFor('wild.orders', 0)).toEqual([]);
      });
    });

    describe('subscription rules', () => {
      it('stores filter, fields, headers and max_per_second beside the row, shown in every read', async () => {
        const rules = { filter: 'data.status: processing AND data.grand_total:>100', fields: 'entity_id,items[sku,qty_ordered]', headers: { 'X-Api-Key': 'k1', 'X-Tenant': 't' }, maxPerSecond: 2.5 };
        const sub = await store.subscriptions.create({ eventName: 'rules.created', recipientUrl: 'https://example.com/r', verificationToken: 't', metadata: 'http', rules });
        expect(sub.rules).toEqual(rules);
        expect((await store.subscriptions.get(sub.id))?.rules).toEqual(rules);
        expect((await store.subscriptions.list()).items.find((s) => s.id === sub.id)?.rules).toEqual(rules);
        expect((await store.subscriptions.activeFor('rules.created', 0))[0]?.rules).toEqual(rules);
        const row = await store.db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', sub.id).executeTakeFirstOrThrow();
        expect(JSON.parse(row.headers ?? '')).toEqual(rules.headers);
        // Upstream's row keeps its columns only.
        const upstream = await store.db.selectFrom('async_event_subscriber').selectAll().where('subscription_id', '=', sub.id).executeTakeFirstOrThrow();
        expect(Object.keys(upstream).sort()).toEqual(['event_name', 'metadata', 'modified', 'recipient_url', 'status', 'store_id', 'subscribed_at', 'subscription_id', 'verification_token']);
      });

      it('changes only the rules given, clears those given as null, and drops the row with the last one', async () => {
        const sub = await store.subscriptions.create({ eventName: 'rules.updated', recipientUrl: 'https://example.com/r', verificationToken: 't', metadata: 'http', rules: { filter: 'data.a:1', maxPerSecond: 5 } });
        const changed = await store.subscriptions.update(sub.id, { rules: { fields: 'a,b', maxPerSecond: null } });
        expect(changed.rules).toEqual({ filter: 'data.a:1', fields: 'a,b' });
        expect(changed.modified).not.toBeNull();
        const plain = await store.subscriptions.update(sub.id, { recipientUrl: 'https://example.com/moved' });
        expect(plain.rules).toEqual({ filter: 'data.a:1', fields: 'a,b' });
        const cleared = await store.subscriptions.update(sub.id, { rules: { filter: null, fields: null, headers: {} } });
        expect(cleared.rules).toEqual({});
        expect(await store.db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', sub.id).execute()).toEqual([]);
        await expect(store.subscriptions.update(999_998, { rules: { filter: 'x' } })).rejects.toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND' });
        expect(await store.db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', 999_998).execute()).toEqual([]);
      });

      it('a subscription without rules reads an empty set; deleting one takes its rules along', async () => {
        const plain = await subscribe('rules.none');
        expect(plain.rules).toEqual({});
        const sub = await store.subscriptions.create({ eventName: 'rules.deleted', recipientUrl: 'https://example.com/r', verificationToken: 't', metadata: 'http', rules: { filter: 'data.a:1' } });
        expect(await store.subscriptions.delete(sub.id)).toBe(true);
        expect(await store.db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', sub.id).execute()).toEqual([]);
      });

      it('Magento deleting the row itself (no sidecar involved) takes the rules along too', async () => {
        const sub = await store.subscriptions.create({ eventName: 'rules.admin', recipientUrl: 'https://example.com/r', verificationToken: 't', metadata: 'http', rules: { fields: 'a' } });
        await store.db.deleteFrom('async_event_subscriber').where('subscription_id', '=', sub.id).execute();
        expect(await store.db.selectFrom('async_event_subscription_rule').selectAll().where('subscription_id', '=', sub.id).execute()).toEqual([]);
      });
    });

    describe('chain order (ordering=entity)', () => {
      const chain = (subscriptionId: number, entityKey: string, n: number) => ({ uuid: randomUUID(), subscriptionId, entityKey, messageId: String(n), triggerBody: `["e","{\\"id\\":${n}}"]` });

      it('keeps the ordering rule, and refuses to lose it on a change of other rules', async () => {
        const sub = await store.subscriptions.create({ eventName: 'order.kept', recipientUrl: 'https://example.com/o', verificationToken: 't', metadata: 'http', rules: { ordering: 'entity' } });
        expect(sub.rules).toEqual({ ordering: 'entity' });
        const changed = await store.subscriptions.update(sub.id, { rules: { filter: 'data.a:1' } });
        expect(changed.rules).toEqual({ ordering: 'entity', filter: 'data.a:1' });
        expect((await store.subscriptions.activeFor('order.kept', 0))[0]?.rules?.ordering).toBe('entity');
      });

      it('takes chains in in the order given, skips a uuid taken in before, and serves heads one per group', async () => {
        const sub = await subscribe('order.heads');
        const a = [chain(sub.id, 'a'.repeat(64), 1), chain(sub.id, 'a'.repeat(64), 2), chain(sub.id, 'a'.repeat(64), 3)];
        const b = [chain(sub.id, 'b'.repeat(64), 4)];
        expect(await store.chainOrder.takeIn([a[0]!, b[0]!, a[1]!])).toBe(3);
        // A second reader handing the same batch, then more: only the new one is taken in, after the others.
        expect(await store.chainOrder.takeIn([a[0]!, b[0]!, a[1]!, a[2]!])).toBe(1);
        expect((await store.chainOrder.head(sub.id, 'a'.repeat(64)))?.uuid).toBe(a[0]!.uuid);
        const now = new Date();
        const claimed = await store.chainOrder.claimHead(sub.id, 'a'.repeat(64), now);
        expect(claimed?.uuid).toBe(a[0]!.uuid);
        // Taken once only: a second claim, from this process or another, gets nothing.
        expect(await store.chainOrder.claimHead(sub.id, 'a'.repeat(64), now)).toBeUndefined();
        const waiting = await store.chainOrder.heads({ startedBefore: new Date(now.getTime() - 60_000), limit: 10 });
        expect(waiting.filter((h) => h.subscriptionId === sub.id).map((h) => h.uuid)).toEqual([b[0]!.uuid]);
        // A claim older than startedBefore can be taken over (its start was lost); a fresh one cannot.
        expect(await store.chainOrder.claimHead(sub.id, 'a'.repeat(64), new Date(), new Date(now.getTime() - 1000))).toBeUndefined();
        expect((await store.chainOrder.claimHead(sub.id, 'a'.repeat(64), new Date(now.getTime() + 5000), new Date(now.getTime() + 2000)))?.uuid).toBe(a[0]!.uuid);
        expect((await store.chainOrder.finishAndClaimNext(a[0]!, new Date())).wasDone).toBe(false);
        expect((await store.chainOrder.finishAndClaimNext(a[0]!, new Date())).wasDone).toBe(true);
        expect((await store.chainOrder.head(sub.id, 'a'.repeat(64)))?.uuid).toBe(a[1]!.uuid);
        await store.chainOrder.claimHead(sub.id, 'a'.repeat(64), new Date());
        await store.chainOrder.unclaim(a[1]!.uuid);
        expect((await store.chainOrder.get(a[1]!.uuid))?.startedAt).toBeNull();
        expect((await store.chainOrder.get(a[0]!.uuid))?.done).toBe(true);
      });

      it('finishes a chain and takes the next of its group in one step, once', async () => {
        const sub = await subscribe('order.finish');
        const key = 'd'.repeat(64);
        const rows = [chain(sub.id, key, 1), chain(sub.id, key, 2), chain(sub.id, key, 3)];
        await store.chainOrder.takeIn(rows);
        await store.chainOrder.claimHead(sub.id, key, new Date());
        const first = await store.chainOrder.finishAndClaimNext(rows[0]!, new Date());
        expect(first.wasDone).toBe(false);
        expect(first.next?.uuid).toBe(rows[1]!.uuid);
        expect((await store.chainOrder.get(rows[1]!.uuid))?.startedAt).not.toBeNull();
        // Told again (a redelivered retry): nothing changes, and the next head, already taken, is not taken twice.
        const again = await store.chainOrder.finishAndClaimNext(rows[0]!, new Date());
        expect(again).toEqual({ wasDone: true, next: undefined });
        await store.chainOrder.finishAndClaimNext(rows[1]!, new Date());
        const last = await store.chainOrder.finishAndClaimNext(rows[2]!, new Date());
        expect(last).toEqual({ wasDone: false, next: undefined });
        expect(await store.chainOrder.head(sub.id, key)).toBeUndefined();
      });

      it('forgets done rows past their time only, and a deleted subscription takes its rows along', async () => {
        const sub = await subscribe('order.forget');
        const rows = [chain(sub.id, 'c'.repeat(64), 1), chain(sub.id, 'c'.repeat(64), 2)];
        await store.chainOrder.takeIn(rows);
        await store.chainOrder.finishAndClaimNext(rows[0]!, new Date());
        expect(await store.chainOrder.forgetDone(new Date(Date.now() - 3_600_000))).toBe(0);
        expect(await store.chainOrder.forgetDone(new Date(Date.now() + 3_600_000))).toBeGreaterThanOrEqual(1);
        expect(await store.chainOrder.get(rows[0]!.uuid)).toBeUndefined();
        expect(await store.chainOrder.get(rows[1]!.uuid)).toBeDefined();
        await store.subscriptions.delete(sub.id);
        expect(await store.chainOrder.get(rows[1]!.uuid)).toBeUndefined();
      });
    });

    describe('delivery log', () => {
      it('walks a chain: open, failed attempt, retry delivered; attempts ordered with event and recipient', async () => {
        const sub = await subscribe('log.chain');
        const uuid = randomUUID();
        await store.log.openChain({ uuid, subscriptionId: sub.id, eventName: 'log.chain', storeId: '1' });
        expect(await store.log.chain(uuid)).toMatchObject({ uuid, subscriptionId: sub.id, eventName: 'log.chain', storeId: '1', status: 'pending', attempts: 0, deathCount: 0, nextAttemptAt: null });

        const due = new Date(Date.now() + 1000);
        const firstId = await store.log.recordAttempt(
          attempt(sub.id, uuid, 'log.chain', { success: false, responseData: '503 Service Unavailable', chainStatus: 'retrying', deathCount: 1, nextAttemptAt: due }),
        );
        const retrying = await store.log.chain(uuid);
        expect(retrying).toMatchObject({ status: 'retrying', attempts: 1, deathCount: 1 });
        expect(retrying?.nextAttemptAt?.getTime()).toBe(Math.floor(due.getTime() / 1000) * 1000);

        const secondId = await store.log.recordAttempt(attempt(sub.id, uuid, 'log.chain', { success: true, responseData: 'ok', chainStatus: 'delivered', deathCount: 1 }));
        expect(secondId).toBeGreaterThan(firstId);
        const delivered = await store.log.chain(uuid);
        expect(delivered).toMatchObject({ status: 'delivered', attempts: 2, deathCount: 1, nextAttemptAt: null });
        expect(Math.abs(delivered!.created.getTime() - Date.now())).toBeLessThan(10_000);

        const rows = await store.log.attempts(uuid);
        expect(rows.map((r) => [r.logId, r.success, r.responseData])).toEqual([
          [firstId, false, '503 Service Unavailable'],
          [secondId, true, 'ok'],
        ]);
        expect(rows[0]).toMatchObject({ uuid, subscriptionId: sub.id, eventName: 'log.chain', recipientUrl: 'https://example.com/log.chain', serializedData: '{"data":{"id":1}}' });
        expect(Math.abs(rows[0]!.created.getTime() - Date.now())).toBeLessThan(10_000);
      });

      it('replay: openChain resets the chain under the same uuid and keeps the history', async () => {
        const sub = await subscribe('log.replay');
        const uuid = randomUUID();
        await store.log.openChain({ uuid, subscriptionId: sub.id, eventName: 'log.replay', storeId: '0' });
        await store.log.recordAttempt(attempt(sub.id, uuid, 'log.replay', { success: false, chainStatus: 'dead', deathCount: 5 }));
        const dead = await store.log.chain(uuid);
        await store.log.openChain({ uuid, subscriptionId: sub.id, eventName: 'log.replay', storeId: '0' });
        const replayed = await store.log.chain(uuid);
        expect(replayed).toMatchObject({ status: 'pending', attempts: 0, deathCount: 0, nextAttemptAt: null });
        expect(replayed?.created).toEqual(dead?.created);
        expect(await store.log.attempts(uuid)).toHaveLength(1);
        await store.log.recordAttempt(attempt(sub.id, uuid, 'log.replay', { success: true, chainStatus: 'delivered', deathCount: 0 }));
        expect(await store.log.chain(uuid)).toMatchObject({ status: 'delivered', attempts: 1 });
        expect(await store.log.attempts(uuid)).toHaveLength(2);
      });

      it('records a chain it never opened (a retry message left by the PHP consumers)', async () => {
        const sub = await subscribe('log.unopened');
        const uuid = randomUUID();
        await store.log.recordAttempt(attempt(sub.id, uuid, 'log.unopened', { success: false, chainStatus: 'retrying', deathCount: 3 }));
        expect(await store.log.chain(uuid)).toMatchObject({ status: 'retrying', attempts: 1, deathCount: 3, subscriptionId: sub.id });
      });

      it('disables the subscription in the same transaction (410 Gone)', async () => {
        const sub = await subscribe('log.gone');
        const uuid = randomUUID();
        await store.log.recordAttempt(attempt(sub.id, uuid, 'log.gone', { success: false, responseData: 'Gone', chainStatus: 'failed', disableSubscription: true }));
        const disabled = await store.subscriptions.get(sub.id);
        expect(disabled).toMatchObject({ active: false });
        expect(disabled?.modified).not.toBeNull();
        expect(await store.subscriptions.activeFor('log.gone', 0)).toEqual([]);
        expect(await store.log.chain(uuid)).toMatchObject({ status: 'failed' });
      });

      it('writes nothing when any part of the attempt fails', async () => {
        const sub = await subscribe('log.atomic');
        const uuid = randomUUID();
        const before = await store.log.count({ subscriptionId: sub.id });
        // The log insert succeeds, the chain upsert then violates NOT NULL: the log row must roll back too.
        const broken = { ...attempt(sub.id, uuid, 'log.atomic', { success: false, chainStatus: 'retrying', disableSubscription: true }), eventName: null as unknown as string };
        await expect(store.log.recordAttempt(broken)).rejects.toThrow();
        expect(await store.log.count({ subscriptionId: sub.id })).toBe(before);
        expect(await store.log.attempts(uuid)).toEqual([]);
        expect(await store.log.chain(uuid)).toBeUndefined();
        expect((await store.subscriptions.get(sub.id))?.active).toBe(true);
      });

      it('queries rows and counts by subscription and success, paging by log id both ways', async () => {
        const sub = await subscribe('log.rows');
        const uuid = randomUUID();
        const logIds: number[] = [];
        for (const success of [false, true, false, true, true]) {
          logIds.push(await store.log.recordAttempt(attempt(sub.id, uuid, 'log.rows', { success, chainStatus: success ? 'delivered' : 'retrying' })));
        }
        expect(await store.log.count({ subscriptionId: sub.id })).toBe(5);
        expect(await store.log.count({ subscriptionId: sub.id, success: true })).toBe(3);
        expect((await store.log.count()) >= 5).toBe(true);
        const asc = await store.log.rows({ subscriptionId: sub.id, limit: 2 });
        expect(asc.map((r) => r.logId)).toEqual(logIds.slice(0, 2));
        const next = await store.log.rows({ subscriptionId: sub.id, limit: 2, afterLogId: logIds[1] });
        expect(next.map((r) => r.logId)).toEqual(logIds.slice(2, 4));
        const desc = await store.log.rows({ subscriptionId: sub.id, order: 'desc', afterLogId: logIds[3] });
        expect(desc.map((r) => r.logId)).toEqual([logIds[2], logIds[1], logIds[0]]);
        const failed = await store.log.rows({ uuid, success: false });
        expect(failed.map((r) => r.logId)).toEqual([logIds[0], logIds[2]]);
        expect(failed.every((r) => r.eventName === 'log.rows')).toBe(true);
      });

      it('lists chains by status, paging by uuid', async () => {
        const sub = await subscribe('log.chains');
        const uuids = [randomUUID(), randomUUID(), randomUUID()].sort();
        for (const uuid of uuids) await store.log.recordAttempt(attempt(sub.id, uuid, 'log.chains', { success: false, chainStatus: 'dead', deathCount: 5 }));
        const dead = (await store.log.chains({ status: 'dead', limit: 1000 })).filter((c) => c.subscriptionId === sub.id);
        expect(dead.map((c) => c.uuid)).toEqual(uuids);
        const afterFirst = (await store.log.chains({ status: 'dead', afterUuid: uuids[0] })).filter((c) => c.subscriptionId === sub.id);
        expect(afterFirst.map((c) => c.uuid)).toEqual(uuids.slice(1));
      });

      it('deletes rows older than the cut-off in batches, and finished chains with them', async () => {
        const sub = await subscribe('log.cleanup');
        const oldUuid = randomUUID();
        const newUuid = randomUUID();
        const openUuid = randomUUID();
        for (let i = 0; i < 5; i += 1) await store.log.recordAttempt(attempt(sub.id, oldUuid, 'log.cleanup', { success: i === 4, chainStatus: i === 4 ? 'delivered' : 'retrying' }));
        await store.log.recordAttempt(attempt(sub.id, openUuid, 'log.cleanup', { success: false, chainStatus: 'retrying' }));
        await store.log.recordAttempt(attempt(sub.id, newUuid, 'log.cleanup', { success: true, chainStatus: 'delivered' }));
        const old = '2020-01-01 00:00:00';
        await store.db.updateTable('async_event_subscriber_log').set({ created: old }).where('uuid', 'in', [oldUuid, openUuid]).execute();
        await store.db.updateTable('async_event_chain').set({ updated: old }).where('uuid', 'in', [oldUuid, openUuid]).execute();

        expect(await store.log.deleteOlderThan(new Date('2021-01-01T00:00:00Z'), 2)).toBe(6);
        expect(await store.log.attempts(oldUuid)).toEqual([]);
        expect(await store.log.attempts(openUuid)).toEqual([]);
        expect(await store.log.attempts(newUuid)).toHaveLength(1);
        expect(await store.log.chain(oldUuid)).toBeUndefined();
        // A chain still retrying stays, whatever its age.
        expect(await store.log.chain(openUuid)).toMatchObject({ status: 'retrying' });
        expect(await store.log.chain(newUuid)).toMatchObject({ status: 'delivered' });
        expect(await store.log.deleteOlderThan(new Date('2021-01-01T00:00:00Z'), 2)).toBe(0);
      });

      it('lets several processes write to the same database at once', async () => {
        const sub = await subscribe('log.concurrent');
        const perProcess = 150;
        const startAt = Date.now() + 3000;
        const writer = fileURLToPath(new URL('./concurrent-writer.ts', import.meta.url));
        const runWriter = () =>
          execFileAsync(process.execPath, ['--import', 'tsx', writer, JSON.stringify({ settings, prefix: 'ae_', key: CRYPT_KEY, subscriptionId: sub.id, count: perProcess, startAt })], {
            timeout: 60_000,
          });
        // Two other processes and this one write interleaved.
        const mine = (async () => {
          await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
          for (let i = 0; i < perProcess; i += 1) {
            await store.log.recordAttempt(attempt(sub.id, randomUUID(), 'log.concurrent', { success: true, chainStatus: 'delivered' }));
          }
        })();
        await Promise.all([runWriter(), runWriter(), mine]);
        expect(await store.log.count({ subscriptionId: sub.id })).toBe(3 * perProcess);
        const chains = await store.db.selectFrom('async_event_chain').select('uuid').where('subscription_id', '=', sub.id).execute();
        expect(chains).toHaveLength(3 * perProcess);
      }, 90_000);
    });

    describe('parked messages', () => {
      it('parks with the reason and lists newest first', async () => {
        const before = await store.parked.count();
        const first = await store.parked.park({ queue: 'event.trigger', body: 'not json', reason: 'body is not JSON (position 1)' });
        const second = await store.parked.park({ queue: 'event.trigger', body: '["unknown.event","{}"]', reason: 'unknown event unknown.event' });
        expect(second).toBeGreaterThan(first);
        expect(await store.parked.count()).toBe(before + 2);
        const [newest, older] = await store.parked.list(2);
        expect(newest).toMatchObject({ id: second, queue: 'event.trigger', body: '["unknown.event","{}"]', reason: 'unknown event unknown.event' });
        expect(older).toMatchObject({ id: first, body: 'not json' });
        expect(Math.abs(newest!.created.getTime() - Date.now())).toBeLessThan(10_000);
      });

      it('gets by ids, pages oldest first within a snapshot, and removes', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 3; i++) ids.push(await store.parked.park({ queue: 'event.trigger', body: `body ${i}`, reason: `reason ${i}` }));
        const [a, b, c] = ids as [number, number, number];
        const missing = c + 1000;
        expect((await store.parked.get([c, missing, a, a])).map((p) => [p.id, p.body])).toEqual([
          [a, 'body 0'],
          [c, 'body 2'],
        ]);
        expect((await store.parked.page({ afterId: a - 1, throughId: b, limit: 10 })).map((p) => p.id)).toEqual([a, b]);
        expect((await store.parked.page({ afterId: a, throughId: c, limit: 1 })).map((p) => p.id)).toEqual([b]);
        expect(await store.parked.remove([a, c, missing])).toBe(2);
        expect(await store.parked.get(ids)).toMatchObject([{ id: b, reason: 'reason 1' }]);
        expect(await store.parked.remove([a])).toBe(0);
      });
    });

    describe('config values', () => {
      it('reads and upserts default-scope values of core_config_data', async () => {
        expect(await store.configValues.get('system/async_events/max_deaths')).toBeUndefined();
        await store.configValues.set('system/async_events/max_deaths', '3');
        await store.configValues.set('system/async_events/max_deaths', '4');
        expect(await store.configValues.get('system/async_events/max_deaths')).toBe('4');
        const rows = await store.db.selectFrom('core_config_data').selectAll().where('path', '=', 'system/async_events/max_deaths').execute();
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ scope: 'default', scope_id: 0 });
      });

      it('ignores other scopes and NULL values, and matches prefixes literally', async () => {
        await store.db.insertInto('core_config_data').values({ scope: 'websites', scope_id: 1, path: 'system/async_events/indexing_enabled', value: '0' }).execute();
        await store.db.insertInto('core_config_data').values({ scope: 'default', scope_id: 0, path: 'system/async_events/subscriber_log_cleanup_cron', value: null }).execute();
        await store.configValues.set('system/async_events/indexing_enabled', '1');
        await store.configValues.set('system/async_eventsX/other', 'no');
        await store.configValues.set('async_events_aws/eventbridge/region', 'ap-southeast-2');
        expect(await store.configValues.get('system/async_events/indexing_enabled')).toBe('1');
        expect(await store.configValues.get('system/async_events/subscriber_log_cleanup_cron')).toBeUndefined();
        const all = await store.configValues.getAll('system/async_events/');
        expect(all).toEqual({ 'system/async_events/indexing_enabled': '1', 'system/async_events/max_deaths': '4' });
        // '_' is a LIKE wildcard; the prefix must match it literally.
        expect(Object.keys(await store.configValues.getAll('async_events_'))).toEqual(['async_events_aws/eventbridge/region']);
        expect(await store.configValues.getAll('async%')).toEqual({});
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
});

function attempt(
  subscriptionId: number,
  uuid: string,
  eventName: string,
  overrides: Partial<AttemptRecord> & Pick<AttemptRecord, 'success' | 'chainStatus'>,
): AttemptRecord {
  return {
    uuid,
    subscriptionId,
    eventName,
    storeId: '0',
    responseData: overrides.success ? 'ok' : 'error',
    serializedData: '{"data":{"id":1}}',
    deathCount: 0,
    nextAttemptAt: null,
    ...overrides,
  };
}
