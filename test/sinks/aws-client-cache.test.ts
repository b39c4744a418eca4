import { describe, expect, it } from 'vitest';
import { createAwsClientCache } from '../../src/sinks/aws-client-cache.ts';
import type { AwsConnection } from '../../src/sinks/aws-config.ts';

interface FakeClient {
  readonly connection: AwsConnection;
  destroyed: number;
  destroy(): void;
}

function cacheOfFakes() {
  const made: FakeClient[] = [];
  const cache = createAwsClientCache((connection: AwsConnection) => {
    const client: FakeClient = {
      connection,
      destroyed: 0,
      destroy() {
        this.destroyed++;
      },
    };
    made.push(client);
    return client;
  });
  return { cache, made };
}

const a: AwsConnection = { accessKeyId: 'AKIAA', secretAccessKey: 's1', region: 'us-east-1' };

describe('AWS client cache', () => {
  it('keeps one client per key, secret and region', async () => {
    const { cache, made } = cacheOfFakes();
    const first = await cache.use(a, async (client) => client);
    expect(await cache.use({ ...a }, async (client) => client)).toBe(first);
    for (const changed of [{ ...a, accessKeyId: 'AKIAB' }, { ...a, secretAccessKey: 's2' }, { ...a, region: 'eu-west-1' }, {}]) {
      await cache.use(changed, async (client) => client);
    }
    expect(made.map((c) => c.connection)).toEqual([a, { ...a, accessKeyId: 'AKIAB' }, { ...a, secretAccessKey: 's2' }, { ...a, region: 'eu-west-1' }, {}]);
    expect(made.map((c) => c.destroyed)).toEqual([1, 1, 1, 1, 0]);
    cache.close();
    expect(made.map((c) => c.destroyed)).toEqual([1, 1, 1, 1, 1]);
  });

  it('destroys a replaced client only after the requests using it finish', async () => {
    const { cache, made } = cacheOfFakes();
    let finish = (): void => undefined;
    const running = cache.use(a, (client) => new Promise<FakeClient>((resolve) => (finish = () => resolve(client))));
    await cache.use({ ...a, region: 'eu-west-1' }, async () => undefined);
    expect(made).toHaveLength(2);
    expect(made[0]?.destroyed).toBe(0);
    finish();
    expect(await running).toBe(made[0]);
    expect(made[0]?.destroyed).toBe(1);
    expect(made[1]?.destroyed).toBe(0);
  });

  it('releases the client when the work fails', async () => {
    const { cache, made } = cacheOfFakes();
    await expect(cache.use(a, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    cache.close();
    expect(made[0]?.destroyed).toBe(1);
  });
});
