import { Agent, request } from 'undici';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome, Subscription } from '../types.ts';
import { createAddressGuard, type Resolver } from './address-guard.ts';
import { sendableExtraHeaders } from './extra-headers.ts';
import { CLOUDEVENT_CONTENT_TYPE, cloudEventBody, LEGACY_CONTENT_TYPE, legacyBody } from './payload.ts';
import { createRequestDeadlines, readBodyText } from './request-deadlines.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';
import { signatureHeaders } from './signing.ts';

/** `response_data` is a MySQL TEXT column. */
export const RESPONSE_DATA_MAX_BYTES = 65_535;
/** Longest `Retry-After` we honour; the dispatcher also raises it to at least the computed backoff. */
export const RETRY_AFTER_MAX_SECONDS = 3600;
const TRUNCATION_MARK = ' [truncated]';

export interface HttpSinkOptions {
  readonly logger: Logger;
  /** `ASYNC_EVENTS_ALLOWED_TARGETS`: hosts or CIDRs reachable despite the private-address guard. */
  readonly allowedTargets: readonly string[];
  readonly connectTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly userAgent?: string;
  /** Old tokens of a subscription still inside their rotation grace period (they co-sign `webhook-signature`). */
  readonly previousTokens?: (subscription: Subscription) => readonly string[] | Promise<readonly string[]>;
  /** DNS resolver, replaceable in tests. */
  readonly resolve?: Resolver;
  readonly now?: () => Date;
}

/**
 * The `http` sink: signed webhook POSTs, upstream's body and signature plus Standard Webhooks headers. One undici
 * Agent keeps a keep-alive pool per recipient origin; every connection it opens goes through the address guard.
 */
export function createHttpSink(options: HttpSinkOptions): Sink {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 15_000;
  const userAgent = options.userAgent ?? 'async-events';
  const now = options.now ?? (() => new Date());
  const guard = createAddressGuard({ allowedTargets: options.allowedTargets, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const agent = new Agent({
    connect: guard.connector({ timeoutMs: connectTimeoutMs }),
    headersTimeout: totalTimeoutMs,
    bodyTimeout: totalTimeoutMs,
  });
  const logger = options.logger.child({ sink: 'http' });
  const deadlines = createRequestDeadlines(totalTimeoutMs);

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription, payload } = attempt;
    let url: URL;
    try {
      url = new URL(subscription.recipientUrl);
    } catch {
      return final(`recipient_url "${subscription.recipientUrl}" of subscription ${subscription.id} is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return final(`recipient_url of subscription ${subscription.id} must be http or https, got "${url.protocol}"`);
    }
    const body = attempt.format === 'legacy' ? legacyBody(payload) : cloudEventBody(payload);
    const previousTokens = options.previousTokens ? await options.previousTokens(subscription) : [];
    const headers = {
      // The subscription's extra headers (never one of the names below: those are refused and dropped).
      ...sendableExtraHeaders(subscription.rules?.headers),
      'content-type': attempt.format === 'legacy' ? LEGACY_CONTENT_TYPE : CLOUDEVENT_CONTENT_TYPE,
      'user-agent': userAgent,
      ...signatureHeaders({ id: payload.uuid, body, token: subscription.verificationToken, previousTokens, now: now() }),
    };
    const deadline = deadlines.start(attempt.signal);
    try {
      const response = await request(url, { method: 'POST', headers, body, signal: deadline.signal, dispatcher: agent });
      // Enough for response_data; the rest is not worth waiting for.
      const text = await readBodyText(response.body, RESPONSE_DATA_MAX_BYTES + 4);
      return outcomeFor(response.statusCode, response.headers, text, now());
    } catch (error) {
      if (attempt.signal?.aborted) {
        throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${subscription.id} aborted`, {}, { cause: error });
      }
      const forbidden = findForbidden(error);
      if (forbidden) return final(forbidden.message);
      const reason = deadline.timedOut ? `no complete response within ${totalTimeoutMs} ms` : describeNetworkError(error);
      logger.debug({ subscriptionId: subscription.id, uuid: payload.uuid, err: error }, 'http delivery failed');
      return { success: false, retryable: true, responseData: truncateUtf8(`${url.origin}: ${reason}`) };
    } finally {
      deadline.done();
    }
  }

  return {
    key: 'http',
    unusableReason: async () => undefined,
    deliver,
    close: async () => {
      await agent.close();
    },
  };
}

function final(message: string): DeliveryOutcome {
  return { success: false, retryable: false, responseData: truncateUtf8(message) };
}

function outcomeFor(status: number, headers: Record<string, string | string[] | undefined>, text: string, now: Date): DeliveryOutcome {
  const responseData = truncateUtf8(text);
  if (status >= 200 && status < 300) return { success: true, retryable: false, responseData, statusCode: status };
  if (status >= 300 && status < 400) {
    const location = headerValue(headers, 'location');
    return {
      success: false,
      retryable: false,
      statusCode: status,
      responseData: truncateUtf8(
        `recipient answered HTTP ${status}${location ? ` redirecting to ${location}` : ''}; redirects are not followed: update the subscription's recipient_url`,
      ),
    };
  }
  const failureData = responseData === '' ? `HTTP ${status}` : responseData;
  if (status === 410) return { success: false, retryable: false, disableSubscription: true, statusCode: status, responseData: failureData };
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfter = retryable ? parseRetryAfter(headerValue(headers, 'retry-after'), now) : undefined;
  return {
    success: false,
    retryable,
    statusCode: status,
    responseData: failureData,
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
  };
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as delta-seconds or an HTTP date, in whole seconds within [0, 3600]; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    seconds = Math.ceil((date - now.getTime()) / 1000);
  }
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(0, seconds));
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character, marking the cut. */
export function truncateUtf8(text: string, maxBytes = RESPONSE_DATA_MAX_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let cut = maxBytes - Buffer.byteLength(TRUNCATION_MARK);
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8') + TRUNCATION_MARK;
}

function findForbidden(error: unknown): AsyncEventsError | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (isAsyncEventsError(current, 'TARGET_FORBIDDEN')) return current;
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    const text = typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}
