import { sql, type RawBuilder } from 'kysely';

/*
 * Every time the database queue compares or stores comes from the database's own clock, the clock Magento's
 * `updated_at DEFAULT CURRENT_TIMESTAMP` uses, so consumers on hosts with skewed clocks still agree on leases.
 * Our own due times carry milliseconds (retries are due to the second); `updated_at` keeps Magento's seconds.
 */
export interface DbClock {
  /** Now, with milliseconds: MySQL DATETIME(3)-style, SQLite 'YYYY-MM-DD HH:MM:SS.SSS' UTC text. */
  now(): RawBuilder<string>;
  /** Now plus (or minus, when negative) whole seconds, with milliseconds. */
  offset(seconds: number): RawBuilder<string>;
  /** Now as Magento writes `updated_at`. */
  timestamp(): RawBuilder<string>;
  /**
   * A due time `seconds` from now for a column that keeps whole seconds only (MySQL `datetime` without fsp, which
   * MariaDB truncates): rounded up, so a retry is never early, at worst under a second late.
   */
  dueInWholeSeconds(seconds: number): RawBuilder<string>;
}

export function createDbClock(dialect: 'mysql' | 'sqlite'): DbClock {
  if (dialect === 'mysql') {
    return {
      now: () => sql<string>`NOW(3)`,
      offset: (seconds) => sql<string>`(NOW(3) + INTERVAL ${Math.trunc(seconds)} SECOND)`,
      timestamp: () => sql<string>`CURRENT_TIMESTAMP`,
      dueInWholeSeconds: (seconds) => sql<string>`(NOW() + INTERVAL ${Math.trunc(seconds) + 1} SECOND)`,
    };
  }
  return {
    now: () => sql<string>`strftime('%Y-%m-%d %H:%M:%f', 'now')`,
    offset: (seconds) => sql<string>`strftime('%Y-%m-%d %H:%M:%f', 'now', ${`${Math.trunc(seconds) >= 0 ? '+' : ''}${Math.trunc(seconds)} seconds`})`,
    timestamp: () => sql<string>`CURRENT_TIMESTAMP`,
    dueInWholeSeconds: (seconds) => sql<string>`datetime('now', ${`+${Math.trunc(seconds) + 1} seconds`})`,
  };
}
