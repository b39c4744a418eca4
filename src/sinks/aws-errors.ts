import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { type AwsConfigPaths, missingCredentialsReason } from './aws-config.ts';
import { truncateUtf8 } from './http.ts';

/*
 * Outcomes of errors the AWS SDK throws. SDK retries are off (our chain does the backoff), so this decides what
 * deserves another attempt: throttling, 5xx and network trouble do; credentials and bad requests do not, since
 * the same request would fail the same way until someone changes the config or the subscription.
 */

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'KmsThrottled',
]);

const AUTH = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'AccessDenied',
  'AccessDeniedException',
  'NotAuthorized',
  'AuthFailure',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'InvalidSecurity',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface SdkErrorFields {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  /** AWS query error code (SQS), e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
  readonly Code?: unknown;
  readonly $fault?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
}

export function outcomeForAwsError(error: unknown, paths: AwsConfigPaths, service: string): DeliveryOutcome {
  const fields: SdkErrorFields = error !== null && typeof error === 'object' ? (error as SdkErrorFields) : {};
  const name = typeof fields.name === 'string' ? fields.name : 'Error';
  const queryCode = typeof fields.Code === 'string' ? fields.Code : undefined;
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  const status = fields.$metadata?.httpStatusCode;
  // SQS answers query-compatible codes too (`KMS.ThrottlingException`); their last part is the plain name.
  const codes = [name, queryCode].filter((c): c is string => c !== undefined).flatMap((c) => [c, c.slice(c.lastIndexOf('.') + 1)]);
  const described = `${service}: ${name}${queryCode && queryCode !== name ? ` (${queryCode})` : ''}: ${message}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  const withStatus = status !== undefined ? { statusCode: status } : {};

  if (name === 'CredentialsProviderError') return final(`${service}: ${missingCredentialsReason(paths)} (${message})`);
  // Before the credential check: SQS answers RequestThrottled with HTTP 403.
  if (codes.some((c) => THROTTLING.has(c)) || status === 429) return { success: false, retryable: true, ...withStatus, responseData: truncateUtf8(described) };
  if (codes.some((c) => AUTH.has(c)) || status === 401) {
    return {
      success: false,
      retryable: false,
      ...withStatus,
      responseData: truncateUtf8(
        `${described}; AWS refused the credentials: check ${paths.accessKey}, ${paths.secretAccessKey} and ${paths.region} ` +
          '(or, when they are empty, the credentials of the AWS default chain) and the IAM permissions',
      ),
    };
  }
  const retryable =
    (status !== undefined && status >= 500) ||
    fields.$fault === 'server' ||
    (fields.$retryable !== undefined && fields.$retryable !== null && fields.$retryable !== false) ||
    (status === undefined && isNetworkError(error));
  return { success: false, retryable, ...withStatus, responseData: truncateUtf8(described) };
}

function isNetworkError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (NETWORK_NAMES.has(current.name)) return true;
  }
  return false;
}

export function final(message: string): DeliveryOutcome {
  return { success: false, retryable: false, responseData: truncateUtf8(message) };
}

/**
 * The outcome of an AWS delivery that threw: an abort during shutdown propagates, missing configuration is a final
 * failure naming the path to set, anything else is classified by `outcomeForAwsError`.
 */
export function outcomeForAwsThrow(
  error: unknown,
  context: { readonly signal?: AbortSignal; readonly subscriptionId: number; readonly uuid: string; readonly logger: Logger; readonly paths: AwsConfigPaths; readonly service: string },
): DeliveryOutcome {
  if (context.signal?.aborted) {
    throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${context.subscriptionId} aborted`, {}, { cause: error });
  }
  if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return final(error.message);
  context.logger.debug({ subscriptionId: context.subscriptionId, uuid: context.uuid, err: error }, `${context.service} delivery failed`);
  return outcomeForAwsError(error, context.paths, context.service);
}

/** A delivery asked to stop before it started hands its attempt back instead of sending. */
export function refuseWhenAborted(attempt: { readonly signal?: AbortSignal; readonly subscription: { readonly id: number } }): void {
  if (attempt.signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${attempt.subscription.id} aborted`);
}

/**
 * The outcome of a batched send, unless the attempt is aborted first: a batch serves several attempts, so one
 * attempt's abort stops its wait, not the request the others share.
 */
export function untilAborted<T>(result: Promise<T>, attempt: { readonly signal?: AbortSignal; readonly subscription: { readonly id: number } }): Promise<T> {
  const signal = attempt.signal;
  if (!signal) return result;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${attempt.subscription.id} aborted`));
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
