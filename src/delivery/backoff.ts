/** Upstream's quadratic backoff: 1, 4, 9, 16, 25 … seconds, capped at a minute. */
export function backoffSeconds(deathCount: number): number {
  return Math.min(60, deathCount * deathCount);
}

/** Longest wait a recipient may ask for with `Retry-After`. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/**
 * Delay before the retry that follows the `deathCount`-th failure. A `Retry-After` is honoured but never makes the
 * retry sooner than the backoff, nor later than an hour (upstream used it unclamped, even negative).
 */
export function retryDelaySeconds(deathCount: number, retryAfterSeconds?: number): number {
  const backoff = backoffSeconds(deathCount);
  if (retryAfterSeconds === undefined || !Number.isFinite(retryAfterSeconds)) return backoff;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(backoff, Math.ceil(retryAfterSeconds)));
}
