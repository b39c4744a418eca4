import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { Pool } from 'undici';
import { createApp } from '../src/app.ts';
import { loadSettings } from '../src/config/settings.ts';
import { silentLogger } from '../src/logger.ts';
import { createDatabase, createVhost, deleteVhost, dropDatabase, MARIADB, missingReason } from '../test/support/services.ts';
import { cleanup, onCleanup, track } from './cleanup.ts';
import { runBatchingBench } from './batching.ts';
import { runCliStartupBench } from './cli-startup.ts';
import { sameWorkBaseline } from './same-work.ts';
import { runSearchBench } from './search.ts';

/*
 * `npm run bench`: the sidecar end to end (RabbitMQ → trigger consumer → Magento REST stand-in → HTTP receiver →
 * MariaDB log rows) beside a raw baseline measured in the same run on the same machine: amqplib consume +
 * undici POST + ack, nothing else. Every figure is printed with the ratio to its baseline; nothing here asserts
 * a time. The receiver and the Magento stand-in run in their own processes, and so does the sidecar.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
/** Interleaved rounds of the throughput part. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Which parts to run (comma-separated): throughput, latency, slow, backlog, ordering, search, batching, cli. Default: all. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'throughput,latency,slow,backlog,ordering,search,batching,cli').split(','));
/** Parts that need neither RabbitMQ nor MariaDB: asked for alone, they run without them. */
const SERVICE_FREE = new Set(['batching', 'cli']);

type Arrival = [id: number, at: number];

interface Receiver {
  readonly url: string;
  /** First arrival of each order id. */
  readonly arrivals: Map<number, number>;
  /** Every arrival, in the order they came: order id and time (several events of one order all count). */
  readonly all: Arrival[];
  waitFor(count: number, timeoutMs: number): Promise<void>;
  close(): void;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

async function startReceiver(delayMs: number): Promise<Receiver> {
  const child = track(fork(path.join(ROOT, 'bench/receiver.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, DELAY_MS: String(delayMs) } }));
  const arrivals = new Map<number, number>();
  const all: Arrival[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const port = await new Promise<number>((resolve) => {
    child.on('message', (m: { port?: number; arrivals?: Arrival[] }) => {
      if (m.port) resolve(m.port);
      for (const [id, at] of m.arrivals ?? []) {
        all.push([id, at]);
        if (!arrivals.has(id)) arrivals.set(id, at);
      }
      for (const w of [...waiters]) {
        if (arrivals.size < w.count) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    all,
    waitFor: (count, timeoutMs) =>
      arrivals.size >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const started = Date.now();
            // Fails early when nothing arrives for a while (a stuck run), not only at the overall timeout.
            let seen = arrivals.size;
            let progressAt = started;
            const timer = setInterval(() => {
              if (arrivals.size > seen) [seen, progressAt] = [arrivals.size, Date.now()];
              if (Date.now() - started > timeoutMs || Date.now() - progressAt > 60_000) {
                clearInterval(timer);
                reject(new Error(`receiver saw ${arrivals.size} of ${count} after ${Date.now() - started} ms (last arrival ${Date.now() - progressAt} ms ago)`));
              }
            }, 1000);
            waiters.push({ count, resolve: () => (clearInterval(timer), resolve()) });
          }),
    close: () => child.kill(),
  };
}

interface Standin {
  readonly url: string;
  readonly child: ChildProcess;
  /** When the first callback for each order id arrived. */
  readonly callbacks: Map<number, number>;
}

async function startStandin(): Promise<Standin> {
  const child = track(fork(path.join(ROOT, 'bench/standin.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, MAGENTO_TOKEN: 'bench' } }));
  const callbacks = new Map<number, number>();
  const url = await new Promise<string>((resolve) =>
    child.on('message', (m: { url?: string; callbacks?: Arrival[] }) => {
      for (const [id, at] of m.callbacks ?? []) if (!callbacks.has(id)) callbacks.set(id, at);
      if (m.url) resolve(m.url);
    }),
  );
  return { url, child, callbacks };
}

/**
 * A sidecar variant from its text (BENCH_THROUGHPUT_FLAGS, each part of BENCH_SIDECAR_FLAGS): NAME=value words set
 * the sidecar's environment, the other words are node flags.
 */
function sidecarVariant(text: string): [nodeFlags: string[], env: Record<string, string>] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const isEnv = (w: string) => /^[A-Z][A-Z0-9_]*=/.test(w);
  return [words.filter((w) => !isEnv(w)), Object.fromEntries(words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]))];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

/** Peak resident memory (VmHWM) of a process, in MB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Waits until the receiver has seen `target` events in all, or, once 99.9 % of them have come, until nothing more
 * comes for 15 s: a few events of a large backlog can go missing in a run (not explained yet), and the bench reports
 * them instead of hanging. Returns how many of the `count` expected never arrived.
 */
/** User + system CPU time of a process so far (Linux /proc), in ms; NaN where it cannot be read. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // In clock ticks of USER_HZ, 100 on Linux.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function waitDrained(receiver: Receiver, target: number, count: number): Promise<number> {
  for (let last = -1, quietSince = Date.now(); receiver.arrivals.size < target; await new Promise((r) => setTimeout(r, 500))) {
    if (receiver.arrivals.size !== last) [last, quietSince] = [receiver.arrivals.size, Date.now()];
    if (Date.now() - quietSince > (target - receiver.arrivals.size <= count * 0.001 ? 15_000 : 120_000)) break;
  }
  return Math.max(0, target - receiver.arrivals.size);
}

const RAW_QUEUE = 'bench.raw';

/** The raw pipe's consumer (its queue declared by the caller): amqplib consume + undici POST + ack, nothing else. */
async function startRawConsumer(connection: amqp.ChannelModel, receiver: Receiver): Promise<{ close(): Promise<void> }> {
  const pool = new Pool(new URL(receiver.url).origin, { connections: 128 });
  const consumer = await connection.createChannel();
  await consumer.prefetch(512);
  await consumer.consume(RAW_QUEUE, (message) => {
    if (!message) return;
    pool
      .request({ method: 'POST', path: '/hook', body: message.content, headers: { 'content-type': 'application/json' } })
      .then(async (response) => {
        await response.body.dump();
        consumer.ack(message);
      }, () => consumer.nack(message));
  });
  return {
    async close() {
      await consumer.close();
      await pool.close();
    },
  };
}

/** One raw-pipe message: the stand-in's order response under `data`, as the same-work script gets it. */
function rawMessage(body: string, id: number, index: number): Buffer {
  return Buffer.from(`{"data":${body.replaceAll('{{id}}', String(id)).replaceAll('{{increment}}', String(index).padStart(9, '0'))}}`);
}

const ORDER_RESPONSE = () => readFileSync(path.join(ROOT, 'examples/magento-standin/responses/order.json'), 'utf8');

/** The raw baseline's throughput: a backlog of `count` drained by the raw pipe. */
async function rawBaseline(amqpUrl: string, receiver: Receiver, count: number, idOffset: number): Promise<number> {
  const connection = await amqp.connect(amqpUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(RAW_QUEUE, { durable: true });
  const body = ORDER_RESPONSE();
  for (let i = 0; i < count; i++) {
    if (!channel.sendToQueue(RAW_QUEUE, rawMessage(body, idOffset + i, i), { deliveryMode: 2 })) await new Promise((r) => channel.once('drain', r));
  }
  await channel.waitForConfirms();
  const seenBefore = receiver.arrivals.size;
  const start = now();
  const consumer = await startRawConsumer(connection, receiver);
  await receiver.waitFor(seenBefore + count, 120_000);
  const elapsed = now() - start;
  await consumer.close();
  await channel.close();
  await connection.close();
  return rate(count, elapsed);
}

/** Publishes `count` events at 500 per second (5 every 10 ms); returns when each id was published. */
async function publishSteadily(count: number, firstId: number, publish: (id: number) => void): Promise<Map<number, number>> {
  const publishedAt = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const id = firstId + i;
    publishedAt.set(id, now());
    publish(id);
    if (i % 5 === 4) await new Promise((r) => setTimeout(r, 10));
  }
  return publishedAt;
}

/** For each id (those of `from` unless given) seen at both points, the ms from `from` to `to`. */
function elapsed(from: Map<number, number>, to: Map<number, number>, ids: Iterable<number> = from.keys()): number[] {
  return [...ids].map((id) => (to.get(id) ?? NaN) - (from.get(id) ?? NaN)).filter(Number.isFinite);
}

function describeLatencies(latencies: number[]): string {
  return `p50 ${percentile(latencies, 50).toFixed(1)} ms, p90 ${percentile(latencies, 90).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`;
}

/** The raw pipe's latency at the latency part's steady rate: what this machine allows a consume + POST. */
async function rawLatency(amqpUrl: string, receiver: Receiver, count: number, firstId: number): Promise<number[]> {
  const connection = await amqp.connect(amqpUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(RAW_QUEUE, { durable: true });
  const consumer = await startRawConsumer(connection, receiver);
  const body = ORDER_RESPONSE();
  const seenBefore = receiver.arrivals.size;
  let index = 0;
  const publishedAt = await publishSteadily(count, firstId, (id) => void channel.sendToQueue(RAW_QUEUE, rawMessage(body, id, index++), { deliveryMode: 2 }));
  await receiver.waitFor(seenBefore + count, 60_000);
  await consumer.close();
  await channel.close();
  await connection.close();
  return elapsed(publishedAt, receiver.arrivals);
}

async function main(): Promise<void> {
  // CLI start-up first, on a machine not yet busy with the other parts' processes.
  const cliLines = PARTS.has('cli') ? await runCliStartupBench() : [];
  for (const line of cliLines) console.log(line);
  const batchingLines = PARTS.has('batching') ? await runBatchingBench() : [];
  for (const line of batchingLines) console.log(line);
  const serviceFreeLines = [...cliLines, ...batchingLines];
  if ([...PARTS].every((part) => SERVICE_FREE.has(part))) {
    console.log('\nsummary\n' + serviceFreeLines.map((l) => `  ${l}`).join('\n'));
    await cleanup();
    return;
  }
  if ([...PARTS].every((part) => part === 'search' || SERVICE_FREE.has(part))) {
    // The search part needs only the databases: no sidecar, receiver or throughput run before it.
    const missing = missingReason('mariadb');
    if (missing) throw new Error(`the bench needs mariadb: ${missing}`);
    const lines = [...serviceFreeLines, ...(await runSearchBench())];
    console.log('\nsummary\n' + lines.map((l) => `  ${l}`).join('\n'));
    return;
  }
  for (const service of ['mariadb', 'rabbitmq'] as const) {
    const missing = missingReason(service);
    if (missing) throw new Error(`the bench needs ${service}: ${missing}`);
  }
  const database = await createDatabase('ae_bench');
  onCleanup(() => dropDatabase(database));
  const vhost = createVhost('ae_bench');
  onCleanup(() => deleteVhost(vhost.name));
  const standin = await startStandin();
  const children: ChildProcess[] = [standin.child];
  const env: Record<string, string> = {
    ASYNC_EVENTS_MAGENTO_ROOT: path.join(ROOT, 'examples/magento'),
    ASYNC_EVENTS_MAGENTO_URL: standin.url,
    ASYNC_EVENTS_MAGENTO_TOKEN: 'bench',
    ASYNC_EVENTS_API_TOKEN: 'bench',
    ASYNC_EVENTS_ALLOWED_TARGETS: '127.0.0.1/32',
    ASYNC_EVENTS_DB: `mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${database}`,
    ASYNC_EVENTS_AMQP: vhost.url,
    ASYNC_EVENTS_DATA_DIR: path.join(ROOT, 'var/bench'),
    ASYNC_EVENTS_LOG_LEVEL: 'warn',
    ASYNC_EVENTS_LOG_FORMAT: 'json',
  };
  const app = await createApp({ settings: await loadSettings({ env, cwd: ROOT }), logger: silentLogger() });
  const sidecar = (nodeFlags: string[] = [], extraEnv: Record<string, string> = {}) => {
    // BENCH_PROFILE=DIR writes a CPU profile of each sidecar process there (open it in Chrome DevTools).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const child = spawn(process.execPath, [...profile, ...nodeFlags, path.join(ROOT, 'bin/async-events.js'), 'consumer:start', 'event.trigger.consumer'], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    return track(child);
  };
  // Chains whose lane was full go through the retry queue; a retry consumer in a process of its own (not measured)
  // brings them to the receiver.
  const retryConsumer = track(spawn(process.execPath, [path.join(ROOT, 'bin/async-events.js'), 'consumer:start', 'event.retry.consumer'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }));
  children.push(retryConsumer);
  const publishBacklog = async (count: number, idOffset: number) => {
    for (let i = 0; i < count; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => app.publish('sales.order.created', { id: idOffset + i + j }, 0)));
    }
  };
  const lines: string[] = [...serviceFreeLines];
  const report = (line: string) => {
    lines.push(line);
    console.log(line);
  };

  try {
    const fast = await startReceiver(0);
    const subscription = await app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: fast.url, verificationToken: 'bench', metadata: 'http' });
    // 1. Throughput: the same backlog drained by the raw baseline, the same-work script and the sidecar, in
    // interleaved rounds (BENCH_ROUNDS) so that a neighbour's load falls on all three alike; ratios are per round.
    if (PARTS.has('throughput')) {
      const ratios: { sameWork: number; raw: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const rawRate = await rawBaseline(vhost.url, fast, N, 40_000_000 + round * N);
        const sameWorkRate = await sameWorkBaseline({
          amqpUrl: vhost.url,
          magentoUrl: standin.url,
          magentoToken: 'bench',
          receiverUrl: fast.url,
          mysql: { host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, database },
          count: N,
          idOffset: 50_000_000 + round * N,
          waitForReceiver: (total) => fast.waitFor(total, 300_000),
          receiverSeen: () => fast.arrivals.size,
        });
        const first = 30_000_000 + round * N;
        const loggedBefore = await app.store.log.count();
        await publishBacklog(N, first);
        const seenBefore = fast.arrivals.size;
        const started = now();
        const child = sidecar(...sidecarVariant(process.env.BENCH_THROUGHPUT_FLAGS ?? ''));
        // CPU the sidecar spends per event, from its first delivery to the last (start-up not counted): a figure the
        // machine's other load hardly moves, unlike the rates.
        await fast.waitFor(seenBefore + 1, 60_000);
        const cpuAtFirst = processCpuMs(child.pid);
        const missing = await waitDrained(fast, seenBefore + N, N);
        const cpuPerEventUs = ((processCpuMs(child.pid) - cpuAtFirst) * 1000) / Math.max(1, N - missing - 1);
        const times = [...fast.arrivals].filter(([id]) => id >= first && id < first + N).map(([, at]) => at);
        const firstArrival = Math.min(...times);
        const sidecarRate = rate(times.length, Math.max(...times) - firstArrival);
        ratios.push({ sameWork: sidecarRate / sameWorkRate, raw: sidecarRate / rawRate });
        report(`throughput round ${round + 1}/${ROUNDS} (${N} events, backlog drained): raw pipe ${rawRate.toFixed(0)} ev/s, same-work script ${sameWorkRate.toFixed(0)} ev/s, sidecar ${sidecarRate.toFixed(0)} ev/s; sidecar ÷ same-work ${((sidecarRate / sameWorkRate) * 100).toFixed(1)} %, sidecar ÷ raw ${((sidecarRate / rawRate) * 100).toFixed(1)} %; sidecar CPU ${cpuPerEventUs.toFixed(0)} µs/event; sidecar start-up ${((firstArrival - started) / 1000).toFixed(1)} s not counted${missing > 0 ? `; ${missing} sidecar events never arrived` : ''}`);
        // The receiver has seen every event, but log writes and acks may still be in flight: let them settle so
        // the next part starts on an idle machine.
        for (let waited = 0; waited < 30_000 && (await app.store.log.count()) < loggedBefore + N - missing; waited += 200) await new Promise((r) => setTimeout(r, 200));
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      const median = (values: number[]) => percentile(values, 50) * 100;
      report(`throughput, median of ${ROUNDS} rounds: sidecar ÷ same-work ${median(ratios.map((r) => r.sameWork)).toFixed(1)} % (goal ≥ 80 %), sidecar ÷ raw ${median(ratios.map((r) => r.raw)).toFixed(1)} % (goal above 28 %)`);
    }

    // 2. Latency at a steady 500 events/s, publish → arrival at the receiver, on a started, idle sidecar.
    if (PARTS.has('latency')) {
    const child = sidecar();
    await publishBacklog(1, 1_999_999);
    await fast.waitFor(fast.arrivals.size + 1, 60_000);
    const seenBefore = fast.arrivals.size;
    const latencyEvents = 5000;
    const publishedAt = await publishSteadily(latencyEvents, 2_000_000, (id) => void app.publish('sales.order.created', { id }, 0));
    await fast.waitFor(seenBefore + latencyEvents, 60_000);
    const latencies = elapsed(publishedAt, fast.arrivals);
    // Where the time goes: publish → the Magento callback (queue, intake) and callback → arrival (Magento, signing, POST).
    const toCallback = elapsed(publishedAt, standin.callbacks);
    const callbackToArrival = elapsed(standin.callbacks, fast.arrivals, publishedAt.keys());
    const raw = await rawLatency(vhost.url, fast, latencyEvents, 2_100_000);
    report(`latency at 500 ev/s (${latencies.length} events): ${describeLatencies(latencies)} (target p99 ≤ 25 ms); raw pipe in the same run: ${describeLatencies(raw)}; of the sidecar's, publish → Magento callback ${describeLatencies(toCallback)}, callback → arrival ${describeLatencies(callbackToArrival)}`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    }
    fast.close();

    // 3. A slow (50 ms) receiver: concurrent delivery against one-at-a-time delivery.
    if (PARTS.has('slow')) {
    const slow = await startReceiver(50);
    await app.store.subscriptions.update(subscription.id, { recipientUrl: slow.url });
    const pool = new Pool(new URL(slow.url).origin, { connections: 1 });
    const sequentialCount = 40;
    const seqStart = now();
    for (let i = 0; i < sequentialCount; i++) {
      const response = await pool.request({ method: 'POST', path: '/hook', body: `{"entity_id":${3_000_000 + i}}` });
      await response.body.dump();
    }
    const sequentialRate = rate(sequentialCount, now() - seqStart);
    await pool.close();
    const slowEvents = 5000;
    await publishBacklog(slowEvents, 4_000_000);
    const slowChild = sidecar();
    await slow.waitFor(sequentialCount + 1, 60_000);
    const slowStart = now();
    const slowSeen = slow.arrivals.size;
    await slow.waitFor(sequentialCount + slowEvents, 300_000);
    const slowRate = rate(sequentialCount + slowEvents - slowSeen, now() - slowStart);
    report(`50 ms receiver: one-at-a-time ${sequentialRate.toFixed(1)} ev/s, sidecar ${slowRate.toFixed(0)} ev/s, ${(slowRate / sequentialRate).toFixed(0)}× (target ≥ 100×)`);
    slowChild.kill('SIGTERM');
    await new Promise((r) => slowChild.once('exit', r));
    slow.close();
    }

    // 4. Peak RSS (VmHWM) of the sidecar process while it drains a backlog, with no flags and no NODE_OPTIONS, beside
    // the same drain with the memory bounds switched off (ASYNC_EVENTS_MEMORY=unbounded), in the same run.
    // BENCH_SIDECAR_FLAGS adds variants separated by ";", each node flags and NAME=value environment words (e.g.
    // "--max-old-space-size=192;ASYNC_EVENTS_MEMORY=unbounded").
    if (PARTS.has('backlog')) {
      const variants: [label: string, flags: string[], extraEnv: Record<string, string>][] = [
        ['defaults', [], {}],
        ['memory bounds off', [], { ASYNC_EVENTS_MEMORY: 'unbounded' }],
        ...(process.env.BENCH_SIDECAR_FLAGS ?? '').split(';').filter((v) => v.trim() !== '').map((v): [string, string[], Record<string, string>] => [v.trim(), ...sidecarVariant(v)]),
      ];
      const drained: { label: string; rate: number; peak: number }[] = [];
      for (const [index, [label, flags, extraEnv]] of variants.entries()) {
        const drain = await startReceiver(0);
        await app.store.subscriptions.update(subscription.id, { recipientUrl: drain.url });
        const offset = 10_000_000 * (index + 1);
        await publishBacklog(BACKLOG, offset);
        const drainStart = now();
        const drainChild = sidecar(flags, extraEnv);
        let peak = 0;
        const sampler = setInterval(() => {
          try {
            peak = Math.max(peak, peakRssMb(drainChild.pid ?? 0));
          } catch {
            /* process gone */
          }
        }, 200);
        await waitDrained(drain, BACKLOG, BACKLOG);
        peak = Math.max(peak, peakRssMb(drainChild.pid ?? 0));
        clearInterval(sampler);
        const times = [...drain.arrivals.values()];
        const firstArrival = Math.min(...times);
        const drainRate = rate(times.length, Math.max(...times) - firstArrival);
        drained.push({ label, rate: drainRate, peak });
        const missing = BACKLOG - times.length;
        report(`backlog of ${BACKLOG} (${label}): drained at ${drainRate.toFixed(0)} ev/s (start-up of ${((firstArrival - drainStart) / 1000).toFixed(1)} s not counted)${missing > 0 ? `, ${missing} never arrived` : ''}, peak RSS ${peak.toFixed(0)} MB${index === 0 ? ' (goal ≤ 200 MB)' : ''}`);
        drainChild.kill('SIGTERM');
        await new Promise((r) => drainChild.once('exit', r));
        drain.close();
      }
      const [bounded, unbounded] = drained;
      if (bounded && unbounded) {
        report(`backlog: defaults peak RSS ${bounded.peak.toFixed(0)} MB (goal ≤ 200 MB) at ${((bounded.rate / unbounded.rate) * 100).toFixed(1)} % of the throughput with the bounds off (${unbounded.peak.toFixed(0)} MB) (goal ≥ 90 %)`);
      }
    }

    // 5. ordering: "entity": the same backlog (several updates per order) drained by a plain subscription, then by
    // an ordering one, which reads a copy of the triggers in publish order and delivers each order's events in turn.
    if (PARTS.has('ordering')) {
      for (const other of (await app.store.subscriptions.list()).items) await app.store.subscriptions.update(other.id, { active: false });
      const orders = 1000;
      const perOrder = 5;
      const drainOnce = async (rules: { ordering?: 'entity' }, idOffset: number): Promise<{ rate: number; complete: boolean }> => {
        const receiver = await startReceiver(0);
        const sub = await app.store.subscriptions.create({ eventName: 'sales.order.updated', recipientUrl: receiver.url, verificationToken: 'bench', metadata: 'http', rules });
        if (rules.ordering) await app.transport.enablePublishOrder();
        for (let round = 0; round < perOrder; round++) {
          await Promise.all(Array.from({ length: orders }, (_, o) => app.publish('sales.order.updated', { id: idOffset + o }, 0)));
        }
        const child = sidecar();
        const total = orders * perOrder;
        for (let quiet = 0; receiver.all.length < total && quiet < 600; quiet++) await new Promise((r) => setTimeout(r, 100));
        const times = receiver.all.map(([, at]) => at);
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        await app.store.subscriptions.update(sub.id, { active: false });
        receiver.close();
        // The order itself is checked by test/delivery/ordering.test.ts; here only the cost.
        return { rate: rate(times.length, Math.max(...times) - Math.min(...times)), complete: receiver.all.length >= total };
      };
      const plain = await drainOnce({}, 6_000_000);
      const ordered = await drainOnce({ ordering: 'entity' }, 7_000_000);
      report(`ordering "entity", ${orders} orders × ${perOrder} updates: plain subscription ${plain.rate.toFixed(0)} ev/s, ordering subscription ${ordered.rate.toFixed(0)} ev/s (${((ordered.rate / plain.rate) * 100).toFixed(0)} %)${ordered.complete && plain.complete ? '' : '; not every event arrived within 60 s'}`);
    }

    // 6. Search over the log.
    if (PARTS.has('search')) for (const line of await runSearchBench()) report(line);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await app.close();
    await cleanup();
  }
  console.log('\nsummary\n' + lines.map((l) => `  ${l}`).join('\n'));
}

await main();
