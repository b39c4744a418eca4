import { prng } from './seed.ts';

/** Random Lucene-ish query strings, SQL-looking text included, from a seeded generator (same seed, same list). */

const TOKENS = [
  'event_name', 'success', 'created', 'log_id', 'uuid', 'data.data.increment_id', 'data.data.grand_total', 'data', 'data.', 'foo', '_exists_',
  ':', ': ', ' ', ' ', ' ', '(', ')', '"', '[', ']', '{', '}', 'TO', 'AND', 'OR', 'NOT', '&&', '||', '!', '-', '+', '*', '?', '\\', '~', '^', '^2', '/',
  '>', '>=', '<', '<=', '=', "'", '`', ';', '%', '_', '$.', '$."a"', '"$.data"', '/*', '*/', '--', '#',
  "'; DROP TABLE async_event_subscriber_log; --", "' OR 1=1 --", '1; DELETE FROM async_event_subscriber', 'UNION SELECT', 'sleep(5)', "\\'", '\u0000', 'é', '😀',
  'customer.*', 'CK*', 'true', 'false', '2024-05-01', '2024-05-01T10:00:00', 'now-1d', '42', '-1', '1e999', '9'.repeat(30), 'roni_cost@example.com',
];

export function randomQueries(count: number, seed: number): string[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(random() * 12);
    let query = '';
    for (let i = 0; i < length; i++) query += TOKENS[Math.floor(random() * TOKENS.length)];
    return query;
  });
}
