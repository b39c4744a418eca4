import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/logger.ts';
import { createEventBridgeSink } from '../src/sinks/eventbridge.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { createSqsSink } from '../src/sinks/sqs.ts';
import type { DeliveryOutcome, EventPayload, Subscription } from '../src/types.ts';
import { track } from './cleanup.ts';

/*
 * `BENCH_PARTS=batching`: deliveries/s of the real eventbridge and sqs sinks (real AWS SDK clients, SigV4 and all)
 * to a local wire stand-in (bench/aws-standin.ts), each attempt sent alone (batch maxEntries 1) against coalesced
 * PutEvents / SendMessageBatch (the default), in the same run, at the in-flight count one subscription gets by
 * default (ASYNC_EVENTS_CONCURRENCY_PER_SUBSCRIPTION, 128). Two stand-ins: one answering at once, one after 20 ms,
 * about the round trip from a shop to an AWS region. Needs neither RabbitMQ nor MariaDB.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.BENCH_BATCH_EVENTS ?? 5_000);
const IN_FLIGHT = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 128);
const WARM_UP = 500;
const REGION = 'us-east-1';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/bench';

interface Standin {
  readonly url: string;
  counts(): Promise<{ requests: number; entries: number }>;
  close(): void;
}

async function startStandin(delayMs: number): Promise<Standin> {
  const child: ChildProcess = track(fork(path.join(ROOT, 'bench/aws-standin.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, DELAY_MS: String(delayMs) } }));
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () =>
      new Promise((resolve) => {
        child.once('message', (m: { requests: number; entries: number }) => resolve(m));
        child.send({ counts: true });
      }),
    close: () => child.kill(),
  };
}

const data = readFileSync(path.join(ROOT, 'examples/magento-standin/responses/order.json'), 'utf8');
const payloadFor = (n: number): EventPayload => ({
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  eventName: 'sales.order.created',
  storeId: 1,
  data: data.replaceAll('{{id}}', String(n)).replaceAll('{{increment}}', String(n).padStart(9, '0')),
});

function sinkFor(kind: 'eventbridge' | 'sqs', endpoint: string, batched: boolean): { sink: Sink; subscription: Subscription } {
  const prefix = `async_events_aws/${kind}`;
  const values = new Map([
    [`${prefix}/access_key`, 'AKIABENCHMARK0000001'],
    [`${prefix}/secret_access_key`, 'bench/Secret+Key/0123456789abcdefghijKL'],
    [`${prefix}/region`, REGION],
    [`${prefix}/source`, 'shop.example.com'],
  ]);
  const options = {
    logger: silentLogger(),
    config: { get: async (key: string) => values.get(key) },
    decrypt: (value: string) => value,
    endpoint,
    ...(batched ? {} : { batch: { maxEntries: 1 } }),
  };
  const sink = kind === 'eventbridge' ? createEventBridgeSink(options) : createSqsSink(options);
  const subscription: Subscription = {
    id: 1, eventName: 'sales.order.created', recipientUrl: kind === 'eventbridge' ? 'magento' : QUEUE_URL, verificationToken: 'unused',
    active: true, subscribedAt: null, modified: null, metadata: kind, storeId: 0,
  };
  return { sink, subscription };
}

/** Delivers `count` attempts keeping `IN_FLIGHT` of them running; answers deliveries/s. Every outcome must be a success. */
async function drive(sink: Sink, subscription: Subscription, count: number, offset: number): Promise<number> {
  let next = 0;
  let failed: DeliveryOutcome | undefined;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const n = offset + next++;
        const outcome = await sink.deliver({ subscription, payload: payloadFor(n), format: 'cloudevents', deathCount: 0 });
        if (!outcome.success) failed ??= outcome;
      }
    }),
  );
  const elapsed = performance.now() - start;
  if (failed) throw new Error(`batching bench: a delivery failed: ${failed.responseData}`);
  return (count / elapsed) * 1000;
}

export async function runBatchingBench(): Promise<string[]> {
  const lines: string[] = [];
  for (const delayMs of [0, 20]) {
    const standin = await startStandin(delayMs);
    try {
      for (const kind of ['eventbridge', 'sqs'] as const) {
        const figures: Record<'alone' | 'batched', number[]> = { alone: [], batched: [] };
        let entriesPerRequest = 0;
        // Alternated twice, so drift of a shared machine touches both modes alike.
        for (const round of [0, 1]) {
          for (const mode of ['alone', 'batched'] as const) {
            const { sink, subscription } = sinkFor(kind, standin.url, mode === 'batched');
            const offset = (round * 2 + (mode === 'batched' ? 1 : 0)) * (COUNT + WARM_UP);
            await drive(sink, subscription, WARM_UP, offset);
            const before = await standin.counts();
            figures[mode].push(await drive(sink, subscription, COUNT, offset + WARM_UP));
            const after = await standin.counts();
            if (mode === 'batched') entriesPerRequest = (after.entries - before.entries) / (after.requests - before.requests);
            await sink.close();
          }
        }
        const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
        const [alone, batched] = [mean(figures.alone), mean(figures.batched)];
        lines.push(
          `batching ${kind}, stand-in answering after ${delayMs} ms, ${COUNT} deliveries × 2 rounds at ${IN_FLIGHT} in flight: ` +
            `one request each ${alone.toFixed(0)} deliveries/s (${figures.alone.map((v) => v.toFixed(0)).join(', ')}), ` +
            `batched ${batched.toFixed(0)} deliveries/s (${figures.batched.map((v) => v.toFixed(0)).join(', ')}; ${entriesPerRequest.toFixed(1)} entries a request): ${(batched / alone).toFixed(1)}×`,
        );
      }
    } finally {
      standin.close();
    }
  }
  return lines;
}
