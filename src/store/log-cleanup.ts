import type { AdminConfig } from '../config/admin-config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from './store.ts';

/**
 * Upstream's `mageos_asyncevents_cron_cleansubscriberlog`, run by the sidecar: when
 * `system/async_events/subscriber_log_cleanup_cron` is on, log rows older than
 * `subscriber_log_cron_delete_period` days go, in small batches so the table is never locked for long, and with
 * them their search index documents (`forgetIndexed`, batch by batch).
 * Returns how many rows were deleted (0 when cleanup is off).
 */
export async function cleanDeliveryLog(
  adminConfig: AdminConfig,
  store: Pick<Store, 'log'>,
  logger: Logger,
  now = new Date(),
  options: { readonly batchSize?: number; readonly forgetIndexed?: (logIds: readonly number[]) => Promise<void> } = {},
): Promise<number> {
  if (!(await adminConfig.logCleanupEnabled())) return 0;
  const days = await adminConfig.logLifetimeDays();
  // The search index forgets each batch before its rows go: if it cannot, the rows stay for the next run, so
  // the index never keeps documents of rows that no longer exist because of a cleanup.
  const removed = await store.log.deleteOlderThan(new Date(now.getTime() - days * 86_400_000), options.batchSize, options.forgetIndexed);
  if (removed > 0) logger.info({ removed, days }, 'delivery log cleanup');
  return removed;
}
