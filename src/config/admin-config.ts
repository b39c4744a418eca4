import type { Logger } from '../logger.ts';
import type { ConfigValues } from '../store/store.ts';

/**
 * The admin settings of Stores > Configuration > Async Events, read live from `core_config_data` (Magento's
 * MySQL or the embedded SQLite table), with env.php/config.php `system.default` values winning as they do in
 * Magento. Each value is cached for a short TTL, so a change an admin saves takes effect within seconds
 * without a query per message.
 */

export const ADMIN_CONFIG_PATHS = {
  maxDeaths: 'system/async_events/max_deaths',
  tokenRotationGraceHours: 'system/async_events/token_rotation_grace_hours',
  indexingEnabled: 'system/async_events/indexing_enabled',
  logCleanupEnabled: 'system/async_events/subscriber_log_cleanup_cron',
  logLifetimeDays: 'system/async_events/subscriber_log_cron_delete_period',
} as const;

export const ADMIN_CONFIG_DEFAULTS = {
  maxDeaths: 5,
  tokenRotationGraceHours: 24,
  indexingEnabled: true,
  logCleanupEnabled: false,
  logLifetimeDays: 30,
} as const;

export interface AdminConfig {
  /** Failed attempts after which a chain is dead-lettered; 0 = no retry. */
  maxDeaths(): Promise<number>;
  /** Hours a replaced verification token keeps signing beside the new one; 0 = it stops at once. */
  tokenRotationGraceHours(): Promise<number>;
  indexingEnabled(): Promise<boolean>;
  logCleanupEnabled(): Promise<boolean>;
  logLifetimeDays(): Promise<number>;
  /** Any default-scope value: the override, else core_config_data, else undefined. */
  get(path: string): Promise<string | undefined>;
}

export interface AdminConfigOptions {
  /** How long a value read from the database is reused; default 2000 ms. */
  readonly ttlMs?: number;
  readonly logger?: Logger;
  /** Injected clock for tests. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly value: string | undefined;
  readonly expiresAt: number;
}

/** Magento's isSetFlag: PHP truthiness of the stored string. */
function isSetFlag(value: string): boolean {
  return value !== '' && value !== '0';
}

export function createAdminConfig(configValues: ConfigValues, overrides: Readonly<Record<string, string>>, options: AdminConfigOptions = {}): AdminConfig {
  const ttlMs = options.ttlMs ?? 2000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string | undefined>>();
  const warned = new Set<string>();

  const read = async (path: string): Promise<string | undefined> => {
    const cached = cache.get(path);
    if (cached && cached.expiresAt > now()) return cached.value;
    const pending = inFlight.get(path);
    if (pending) return pending;
    const query = configValues
      .get(path)
      .then((value) => {
        cache.set(path, { value, expiresAt: now() + ttlMs });
        return value;
      })
      .catch((thrown: unknown) => {
        // A database hiccup should not stop deliveries that a slightly old value serves just as well.
        if (cached) {
          options.logger?.warn({ err: thrown, path }, `cannot read ${path} from core_config_data; using the last value read`);
          return cached.value;
        }
        throw thrown;
      })
      .finally(() => inFlight.delete(path));
    inFlight.set(path, query);
    return query;
  };

  const get = async (path: string): Promise<string | undefined> => {
    const override = overrides[path];
    return override !== undefined ? override : read(path);
  };

  const warnOnce = (path: string, value: string, expected: string, fallback: number): void => {
    const key = `${path}\u0000${value}`;
    if (warned.has(key)) return;
    warned.add(key);
    options.logger?.warn({ path, value }, `${path} = ${JSON.stringify(value)} is not ${expected}; using ${fallback}`);
  };

  const integer = async (path: string, fallback: number, min: number): Promise<number> => {
    const value = await get(path);
    if (value === undefined || value.trim() === '') return fallback;
    const trimmed = value.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) < min || !Number.isSafeInteger(Number(trimmed))) {
      warnOnce(path, value, min === 0 ? 'a non-negative whole number' : `a whole number of at least ${min}`, fallback);
      return fallback;
    }
    return Number(trimmed);
  };

  const flag = async (path: string, fallback: boolean): Promise<boolean> => {
    const value = await get(path);
    return value === undefined ? fallback : isSetFlag(value.trim());
  };

  return {
    maxDeaths: () => integer(ADMIN_CONFIG_PATHS.maxDeaths, ADMIN_CONFIG_DEFAULTS.maxDeaths, 0),
    tokenRotationGraceHours: () => integer(ADMIN_CONFIG_PATHS.tokenRotationGraceHours, ADMIN_CONFIG_DEFAULTS.tokenRotationGraceHours, 0),
    indexingEnabled: () => flag(ADMIN_CONFIG_PATHS.indexingEnabled, ADMIN_CONFIG_DEFAULTS.indexingEnabled),
    logCleanupEnabled: () => flag(ADMIN_CONFIG_PATHS.logCleanupEnabled, ADMIN_CONFIG_DEFAULTS.logCleanupEnabled),
    logLifetimeDays: () => integer(ADMIN_CONFIG_PATHS.logLifetimeDays, ADMIN_CONFIG_DEFAULTS.logLifetimeDays, 1),
    get,
  };
}
