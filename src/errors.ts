/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text; messages say what is wrong
 * and where (file:line, field, query position) so that a person can fix it from the message alone.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'MAGENTO_ROOT_MISSING'
  | 'SETTING_INVALID'
  | 'MESSAGE_MALFORMED'
  | 'EVENT_UNKNOWN'
  | 'CALLBACK_NO_ROUTE'
  | 'CALLBACK_FAILED'
  | 'SINK_UNKNOWN'
  | 'SINK_NOT_CONFIGURED'
  | 'TARGET_FORBIDDEN'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'QUERY_SYNTAX'
  | 'SEARCH_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'QUEUE_UNAVAILABLE'
  | 'CRYPT_KEY_MISSING'
  | 'DECRYPT_FAILED'
  | 'SHUTTING_DOWN';

export class AsyncEventsError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AsyncEventsError';
    this.code = code;
    this.details = details;
  }
}

export function isAsyncEventsError(error: unknown, code?: ErrorCode): error is AsyncEventsError {
  return error instanceof AsyncEventsError && (code === undefined || error.code === code);
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown), { cause: thrown });
}
