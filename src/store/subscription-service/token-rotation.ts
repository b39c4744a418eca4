import { ADMIN_CONFIG_DEFAULTS } from '../../config/admin-config.ts';
import { isAsyncEventsError } from '../../errors.ts';
import type { Subscription } from '../../types.ts';
import type { Store } from '../store.ts';

/*
 * The token rotation rule: a subscription whose verification token is replaced keeps the old one signing beside
 * the new for `system/async_events/token_rotation_grace_hours` (default 24), so a receiver can switch at its own
 * pace. The old token is kept before the new one is written: should the write then fail, the row kept is the token
 * still current, which signs anyway; the other order could lose the old token and break the receiver.
 */

export interface TokenRotation {
  /** `system/async_events/token_rotation_grace_hours`: how long a replaced token keeps signing; 0 = not at all. */
  graceHours(): Promise<number>;
  /** Told once a subscription's token was replaced, so caches of its previous tokens reload. */
  replaced?(subscriptionId: number, graceHours: number): void;
  /** The clock the replacement is dated with (tests move it). */
  now?(): Date;
}

export const DEFAULT_TOKEN_ROTATION: TokenRotation = {
  graceHours: async () => ADMIN_CONFIG_DEFAULTS.tokenRotationGraceHours,
};

/**
 * Keeps `current`'s token when `newToken` replaces it; returns the grace hours it signs for, or undefined when
 * nothing was kept (same token, grace 0, or a stored token this process cannot decrypt and so could not sign with).
 */
export async function keepReplacedToken(
  store: Pick<Store, 'previousTokens'>,
  rotation: TokenRotation,
  current: Subscription,
  newToken: string,
): Promise<number | undefined> {
  let oldToken: string;
  try {
    oldToken = current.verificationToken;
  } catch (error) {
    if (isAsyncEventsError(error, 'DECRYPT_FAILED')) return undefined;
    throw error;
  }
  if (oldToken === newToken || oldToken === '') return undefined;
  const graceHours = await rotation.graceHours();
  if (graceHours <= 0) return undefined;
  await store.previousTokens.keep(current.id, oldToken, rotation.now?.() ?? new Date());
  return graceHours;
}
