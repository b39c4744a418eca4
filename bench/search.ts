import { sql } from 'kysely';
import { createBuiltinSearch } from '../src/search/engine.ts';
import { openTestStore } from '../test/search/support/databases.ts';
import { README_CASES } from '../test/search/support/cases.ts';
import { insertSeed, makeSeed } from '../test/search/support/seed.ts';

/*
 * Search figures: p50/p95 of upstream's README queries over a seeded delivery log on SQLite and MariaDB, beside
 * the raw baseline of a bare `SELECT … ORDER BY log_id DESC LIMIT 20` on the same table in the same run.
 */

const ROWS = Number(process.env.BENCH_SEARCH_ROWS ?? 100_000);
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 20);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function time(run: () => Promise<unknown>): Promise<number[]> {
  await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * The p95 goal of a query: 300 ms when it reads payload fields (`data.…`), 50 ms when it reads indexed fields only,
 * none when a term names no field (it searches the event name, UUID and payload text).
 */
function targetP95Ms(query: string): number | undefined {
  const terms = query.split(/\s+(?:AND|OR|NOT)\s+/);
  if (terms.some((term) => !term.includes(':'))) return undefined;
  return query.includes('data.') ? 300 : 50;
}

export async function runSearchBench(): Promise<string[]> {
  const lines: string[] = [];
  const seed = makeSeed(ROWS);
  for (const kind of ['sqlite', 'mariadb'] as const) {
    const { store, dispose } = await openTestStore(kind);
    try {
      await insertSeed(store.db, seed);
      const engine = createBuiltinSearch({ db: store.db, dialect: store.dialect });
      const baseline = await time(() => store.db.selectFrom('async_event_subscriber_log').selectAll().orderBy('log_id', 'desc').limit(20).execute());
      lines.push(`search ${kind}, ${ROWS} rows: raw SELECT of one page p50 ${percentile(baseline, 50).toFixed(1)} ms`);
      for (const { query } of README_CASES) {
        const samples = await time(() => engine.search(query, { size: 20, from: 0 }));
        const target = targetP95Ms(query);
        lines.push(`  ${JSON.stringify(query).padEnd(52)} p50 ${percentile(samples, 50).toFixed(1).padStart(7)} ms  p95 ${percentile(samples, 95).toFixed(1).padStart(7)} ms  (${target === undefined ? 'no target: field-less terms search the payload text' : `target p95 ≤ ${target} ms`})`);
      }
      if (kind === 'mariadb') {
        // The same match written by hand as one full scan: JSON_EXTRACT on every row, every matching id read.
        const email = 'roni_cost@example.com';
        const scan = await time(() =>
          sql`SELECT log_id FROM ${sql.table('async_event_subscriber_log')}
              WHERE LOWER(JSON_UNQUOTE(JSON_EXTRACT(CONVERT(serialized_data USING utf8mb4), '$.data.customer_email'))) = ${email}
              ORDER BY log_id DESC`.execute(store.db),
        );
        const ours = await time(() => engine.search(`data.data.customer_email: ${email}`, { size: 20, from: 0 }));
        const ratio = percentile(ours, 95) / percentile(scan, 95);
        lines.push(
          `  data.data.customer_email: sidecar p95 ${percentile(ours, 95).toFixed(1)} ms vs hand-written JSON_EXTRACT full scan p95 ${percentile(scan, 95).toFixed(1)} ms: ${(ratio * 100).toFixed(0)} % (goal ≤ 50 %)`,
        );
      }
    } finally {
      await dispose();
    }
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await runSearchBench()) console.log(line);
}
