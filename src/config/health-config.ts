import type { Logger } from '../logger.ts';
import type { AdminConfig } from './admin-config.ts';

/*
 * The admin settings of subscription health (Stores > Configuration > Advanced > System > Async Events), read
 * live through the admin config like the other `system/async_events/*` values. The alert secret is stored the
 * way Magento's Encrypted backend model stores it (the generated system.xml declares the field so), and is
 * decrypted on each use.
 */

export const HEALTH_CONFIG_PATHS = {
  autoDisableHours: 'system/async_events/auto_disable_hours',
  autoDisableMinFailures: 'system/async_events/auto_disable_min_failures',
  alertUrl: 'system/async_events/alert_url',
  alertSecret: 'system/async_events/alert_secret',
} as const;

export const HEALTH_CONFIG_DEFAULTS = {
  /** Svix's five days. */
  autoDisableHours: 120,
  autoDisableMinFailures: 10,
} as const;

export interface HealthConfig {
  /** Hours without a successful delivery before a failing subscription is disabled; 0 = never. */
  autoDisableHours(): Promise<number>;
  /** Failed chains within those hours needed as well; also the 100 % mark of `subscription.failing` alerts. */
  autoDisableMinFailures(): Promise<number>;
  /** Where operator alerts go, with the plain secret that signs them; undefined when no URL is set. */
  alertTarget(): Promise<{ readonly url: string; readonly secret: string } | undefined>;
}

export function createHealthConfig(admin: Pick<AdminConfig, 'get'>, decrypt: (stored: string) => string, logger?: Logger): HealthConfig {
  const warned = new Set<string>();
  const integer = async (path: string, fallback: number, min: number): Promise<number> => {
    const value = (await admin.get(path))?.trim();
    if (value === undefined || value === '') return fallback;
    if (/^\d+$/.test(value) && Number(value) >= min && Number.isSafeInteger(Number(value))) return Number(value);
    if (!warned.has(`${path}\u0000${value}`)) {
      warned.add(`${path}\u0000${value}`);
      logger?.warn({ path, value }, `${path} = ${JSON.stringify(value)} is not a whole number of at least ${min}; using ${fallback}`);
    }
    return fallback;
  };
  return {
    autoDisableHours: () => integer(HEALTH_CONFIG_PATHS.autoDisableHours, HEALTH_CONFIG_DEFAULTS.autoDisableHours, 0),
    autoDisableMinFailures: () => integer(HEALTH_CONFIG_PATHS.autoDisableMinFailures, HEALTH_CONFIG_DEFAULTS.autoDisableMinFailures, 1),
    async alertTarget() {
      const url = (await admin.get(HEALTH_CONFIG_PATHS.alertUrl))?.trim();
      if (!url) return undefined;
      const stored = (await admin.get(HEALTH_CONFIG_PATHS.alertSecret))?.trim() ?? '';
      return { url, secret: stored === '' ? '' : decrypt(stored) };
    },
  };
}
