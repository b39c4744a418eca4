import type { AdminConfig } from '../config/admin-config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from './store.ts';

/**
 * Deletes replaced verification tokens whose rotation grace period (`system/async_events/token_rotation_grace_hours`,
 * as set now) has ended, of every subscription: those nobody delivers to any more are not read, so reads alone
 * would keep them. Runs whether or not the log cleanup is on: a secret is not kept longer than it is needed.
 * Returns how many went.
 */
export async function cleanPreviousTokens(
  adminConfig: Pick<AdminConfig, 'tokenRotationGraceHours'>,
  store: Pick<Store, 'previousTokens'>,
  logger: Logger,
  now = new Date(),
): Promise<number> {
  const graceHours = await adminConfig.tokenRotationGraceHours();
  const removed = await store.previousTokens.deleteReplacedBefore(new Date(now.getTime() - graceHours * 3_600_000));
  if (removed > 0) logger.info({ removed, graceHours }, 'expired previous verification tokens deleted');
  return removed;
}
