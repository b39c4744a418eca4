import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';

/**
 * Why a Magento callback failed. Whether it is worth trying again is decided here, where the answer is read, so the
 * delivery stage never guesses from a status code or a message:
 *
 * - `outage`: Magento cannot answer right now (connection refused or reset, timeout, 408, 429, 5xx). It comes back
 *   on its own: hold the message and try again.
 * - `credentials`: Magento refused the integration token (401/403). Fixing the token must resume delivery without
 *   anyone redriving anything, so it is held the same way.
 * - `unconfigured`: no Magento URL is set; held too, so setting it and restarting delivers what waited.
 * - `permanent`: Magento gave an answer that will not change (400, 404 for the entity, a store it does not know):
 *   the message is parked with Magento's reason.
 */
export type CallbackFault = 'outage' | 'credentials' | 'unconfigured' | 'permanent';

export class MagentoCallbackError extends AsyncEventsError {
  readonly fault: CallbackFault;
  /** True for faults that clear by themselves or by fixing a setting; false when only a redrive can help. */
  readonly retryable: boolean;

  constructor(fault: CallbackFault, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('CALLBACK_FAILED', message, details, options);
    this.name = 'MagentoCallbackError';
    this.fault = fault;
    this.retryable = fault !== 'permanent';
  }
}

/** The fault an HTTP status stands for; only called for non-2xx answers. */
export function faultOfStatus(status: number): CallbackFault {
  if (status === 401 || status === 403) return 'credentials';
  if (status === 408 || status === 429 || status >= 500) return 'outage';
  return 'permanent';
}

export function isRetryableCallbackError(error: unknown): error is MagentoCallbackError {
  return error instanceof MagentoCallbackError && error.retryable;
}

/** A callback answer no retry can change (no REST route for the service, or Magento's permanent answer): park it. */
export function isPermanentCallbackError(error: unknown): error is AsyncEventsError {
  return isAsyncEventsError(error, 'CALLBACK_NO_ROUTE') || (error instanceof MagentoCallbackError && !error.retryable);
}
