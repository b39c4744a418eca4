import type { AdminConfig } from '../config/admin-config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from './store.ts';

/**
 * Upstream's `mageos_asyncevents_cron_cleansubscriberlog`, run by the sidecar: when
 * `system/async_events/subscriber_log_cleanup_cron` is on, log rows older than
 * `subscriber_log_cron_delete_period` days go, in small batches so the table is never locked for long.
 * Returns how many rows were deleted (0 when cleanup is off).
 */
export async function cleanDeliveryLog(adminConfig: AdminConfig, store: Pick<Store, 'log'>, logger: Logger, now = new Date()): Promise<number> {
  if (!(await adminConfig.logCleanupEnabled())) return 0;
  const days = await adminConfig.logLifetimeDays();
  const removed = await store.log.deleteOlderThan(new Date(now.getTime() - days * 86_400_000));
  if (removed > 0) logger.info({ removed, days }, 'delivery log cleanup');
  return removed;
}
