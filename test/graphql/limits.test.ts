import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../src/api/dependencies.ts';
import { makeDeps, openTestStore, startGraphqlServer, type GraphqlServer } from './harness.ts';

/* GraphQL Armor's limits: a query over them is refused with a clear error before any resolver runs. */

describe('GraphQL query limits', () => {
  let server: GraphqlServer;
  let closeStore: () => Promise<void>;
  const resolved = { sinks: 0, trace: 0 };

  beforeAll(async () => {
    const { store, close } = await openTestStore();
    closeStore = close;
    const { deps } = makeDeps(store);
    const counted: ApiDependencies = {
      ...deps,
      sinks: async () => {
        resolved.sinks += 1;
        return deps.sinks();
      },
      store: new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'log') resolved.trace += 1;
          return Reflect.get(target, key, receiver) as unknown;
        },
      }),
    };
    server = await startGraphqlServer(counted);
  });
  afterAll(async () => {
    await server.close();
    await closeStore();
  });

  it('answers a query within the limits', async () => {
    const reply = await server.query('{ a: sinks { key } b: sinks { key } }');
    expect(reply.errors).toBeUndefined();
    expect(resolved.sinks).toBe(2);
    const trace = await server.query('{ trace(uuid: "0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a") { uuid subscription { id } } }');
    expect(trace.errors).toBeUndefined();
    expect(resolved.trace).toBeGreaterThan(0);
    resolved.sinks = 0;
    resolved.trace = 0;
  });

  it('refuses an alias bomb before execution', async () => {
    const bomb = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: sinks { key }`).join(' ')} }`;
    const reply = await server.query(bomb);
    expect(reply.data ?? undefined).toBeUndefined();
    expect(reply.errors?.map((e) => e.message).join('\n')).toContain('Aliases limit of 15 exceeded, found 200');
    expect(resolved.sinks).toBe(0);
  });

  it('refuses a deeply nested query before execution', async () => {
    const deep = `{ trace(uuid: "0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a") { ${'subscription { '.repeat(12)}id${' }'.repeat(12)} } }`;
    const reply = await server.query(deep);
    expect(reply.data ?? undefined).toBeUndefined();
    expect(reply.errors?.map((e) => e.message).join('\n')).toMatch(/Query depth limit of 8 exceeded, found 1[34]/);
    expect(resolved.trace).toBe(0);
  });

  it('refuses a query over the cost limit before execution, and lets a full page through', async () => {
    const page = 'deliveries(first: 500) { total nodes { logId uuid eventName success created subscriptionId recipientUrl responseData } }';
    expect((await server.query(`{ ${page} }`)).errors).toBeUndefined();
    const costly = await server.query(`{ ${Array.from({ length: 15 }, (_, i) => `p${i}: ${page}`).join(' ')} }`);
    expect(costly.data ?? undefined).toBeUndefined();
    expect(costly.errors?.map((e) => e.message).join('\n')).toMatch(/Query Cost limit of 50000 exceeded, found \d+/);
  });

  it('refuses a query of too many tokens while parsing', async () => {
    const long = `{ sinks { ${'key '.repeat(2500)}} }`;
    const reply = await server.query(long);
    expect(reply.errors?.map((e) => e.message).join('\n')).toContain('Token limit of 2000 exceeded');
    expect(resolved.sinks).toBe(0);
  });
});
