import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/*
 * A crash between a failed attempt's log row and its retry, or between the retry and the acknowledgement, must not
 * fork the chain: after the redelivery there is exactly one continuation, so the chain makes exactly the attempts
 * its backoff allows (here: one failure, one success), all under one UUID.
 */

type Point = 'after-log-row' | 'after-retry-scheduled';

describe('crash between a failed attempt’s log row and its retry', () => {
  let sidecar: TestSidecar | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterEach(async () => {
    await sidecar?.close();
    await receiver?.close();
  });

  for (const point of ['after-log-row', 'after-retry-scheduled'] as const satisfies readonly Point[]) {
    it(`keeps one chain when the process dies ${point.replaceAll('-', ' ')}`, async () => {
      receiver = await startReceiver((_request, index) => (index === 0 ? { status: 500, body: 'down' } : { status: 200, body: 'ok' }));
      let crashed = 0;
      sidecar = await startSidecar({
        mode: 'sqlite',
        app: {
          // The first time only: the handler dies there, so its message is handed back and redelivered.
          crashPoint: async (at) => {
            if (at === point && crashed++ === 0) throw new Error(`injected crash ${at}`);
          },
        },
      });
      const { app } = sidecar;
      await app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      await app.publish('sales.order.created', { id: 42 }, 0);

      const [chain] = await waitFor('the chain delivered', async () => {
        const chains = await app.store.log.chains({});
        return chains.length > 0 && chains.every((c) => c.status === 'delivered') ? chains : undefined;
      });
      expect(crashed).toBeGreaterThanOrEqual(1);
      // No copy of the retry is left to run later.
      await waitFor('no retry left', async () => Number((await app.store.db.selectFrom('async_event_retry').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n) === 0);
      // Give a stray duplicate the time it would need to show up as a third request.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const attempts = await app.store.log.attempts(chain?.uuid ?? '');
      expect(attempts.map((a) => a.success)).toEqual([false, true]);
      expect(receiver.requests).toHaveLength(2);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([chain?.uuid]));
      expect(await app.store.log.chains({})).toHaveLength(1);
    });
  }
});
