import { Agent, request } from 'undici';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryOutcome } from '../types.ts';
import { createAddressGuard, type Resolver } from './address-guard.ts';
import type { ConfigGetter, Decrypt } from './aws-config.ts';
import { createTokenSource, type ServicePrincipal, TokenEndpointError, type TokenSource } from './azure-token.ts';
import { parseRetryAfter, RESPONSE_DATA_MAX_BYTES, truncateUtf8 } from './http.ts';
import { createInFlight } from './in-flight.ts';
import { CLOUDEVENT_CONTENT_TYPE, cloudEventBody } from './payload.ts';
import type { DeliveryAttemptRequest, Sink } from './sink.ts';

/** Upstream MageOS_AsyncEventsAzure's settings. */
export const EVENTGRID_PATHS = {
  tenantId: 'async_events_azure/service_principal/tenant_id',
  clientId: 'async_events_azure/service_principal/client_id',
  clientSecret: 'async_events_azure/service_principal/client_secret',
} as const;
export const EVENTGRID_API_VERSION = '2018-01-01';

export interface EventGridSinkOptions {
  readonly logger: Logger;
  readonly config: ConfigGetter;
  readonly decrypt: Decrypt;
  /** `ASYNC_EVENTS_ALLOWED_TARGETS`: topic endpoints on private addresses must be listed, as webhook hosts must. */
  readonly allowedTargets: readonly string[];
  readonly connectTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly resolve?: Resolver;
  readonly tokens?: TokenSource;
}

/**
 * The `eventgrid` sink (upstream MageOS_AsyncEventsAzure): POSTs the structured CloudEvent to the topic endpoint in
 * `recipient_url` with a bearer token of the configured service principal.
 */
export function createEventGridSink(options: EventGridSinkOptions): Sink {
  const logger = options.logger.child({ sink: 'eventgrid' });
  const env = options.env ?? process.env;
  const totalTimeoutMs = options.totalTimeoutMs ?? 15_000;
  const tokens = options.tokens ?? createTokenSource({ authorityHost: () => env.AZURE_AUTHORITY_HOST, timeoutMs: totalTimeoutMs });
  const guard = createAddressGuard({ allowedTargets: options.allowedTargets, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const agent = new Agent({ connect: guard.connector({ timeoutMs: options.connectTimeoutMs ?? 5000 }), headersTimeout: totalTimeoutMs, bodyTimeout: totalTimeoutMs });
  const inFlight = createInFlight();

  async function principal(): Promise<ServicePrincipal> {
    const [tenantId, clientId, storedSecret] = await Promise.all([EVENTGRID_PATHS.tenantId, EVENTGRID_PATHS.clientId, EVENTGRID_PATHS.clientSecret].map(async (p) => (await options.config.get(p))?.trim() || undefined));
    const missing = [[tenantId, EVENTGRID_PATHS.tenantId], [clientId, EVENTGRID_PATHS.clientId], [storedSecret, EVENTGRID_PATHS.clientSecret]].filter(([value]) => value === undefined).map(([, p]) => p);
    if (missing.length > 0) {
      throw new AsyncEventsError('SINK_NOT_CONFIGURED', `no Azure service principal: set ${missing.join(', ')} (Stores › Configuration › Async Events Azure)`, { path: missing[0] });
    }
    let clientSecret: string;
    try {
      clientSecret = options.decrypt(storedSecret as string).trim();
    } catch (error) {
      throw new AsyncEventsError(
        'SINK_NOT_CONFIGURED',
        `${EVENTGRID_PATHS.clientSecret} cannot be decrypted with the crypt/key of env.php (${(error as Error).message}); save the secret again`,
        { path: EVENTGRID_PATHS.clientSecret },
        { cause: error },
      );
    }
    if (clientSecret === '') throw new AsyncEventsError('SINK_NOT_CONFIGURED', `${EVENTGRID_PATHS.clientSecret} is empty after decryption; save the secret again`, { path: EVENTGRID_PATHS.clientSecret });
    return { tenantId: tenantId as string, clientId: clientId as string, clientSecret };
  }

  async function post(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    const { subscription, payload } = attempt;
    let url: URL;
    try {
      url = new URL(subscription.recipientUrl);
    } catch {
      return final(`recipient_url "${subscription.recipientUrl}" of subscription ${subscription.id} is not a URL; write the topic endpoint, e.g. https://<topic>.<region>-1.eventgrid.azure.net/api/events`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return final(`recipient_url of subscription ${subscription.id} must be https, got "${url.protocol}"`);
    url.searchParams.set('api-version', EVENTGRID_API_VERSION);
    let identity: ServicePrincipal;
    try {
      identity = await principal();
    } catch (error) {
      if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return final(error.message);
      throw error;
    }
    const timeout = AbortSignal.timeout(totalTimeoutMs);
    const signal = attempt.signal ? AbortSignal.any([timeout, attempt.signal]) : timeout;
    try {
      const token = await tokens.token(identity, signal);
      const response = await request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': CLOUDEVENT_CONTENT_TYPE },
        body: cloudEventBody(payload),
        signal,
        dispatcher: agent,
      });
      const text = truncateUtf8(await response.body.text(), RESPONSE_DATA_MAX_BYTES);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { success: true, retryable: false, statusCode: status, responseData: text };
      const described = `Event Grid ${url.origin} answered HTTP ${status}${text ? `: ${text}` : ''}`;
      // A 401 with a cached token may be a revoked one: the next attempt asks for a new token.
      if (status === 401) {
        tokens.forget(identity);
        return { success: false, retryable: true, statusCode: status, responseData: truncateUtf8(described) };
      }
      if (status === 403) {
        return final(`${described}; give the service principal ${EVENTGRID_PATHS.clientId} the "EventGrid Data Sender" role on the topic`, status);
      }
      const retryable = status === 408 || status === 429 || status >= 500;
      const header = response.headers['retry-after'];
      const retryAfter = retryable ? parseRetryAfter(Array.isArray(header) ? header[0] : header, new Date()) : undefined;
      return { success: false, retryable, statusCode: status, responseData: truncateUtf8(described), ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
    } catch (error) {
      if (attempt.signal?.aborted) throw new AsyncEventsError('SHUTTING_DOWN', `delivery to subscription ${subscription.id} aborted`, {}, { cause: error });
      if (error instanceof TokenEndpointError) return { success: false, retryable: error.retryable, responseData: truncateUtf8(error.message) };
      const forbidden = findForbidden(error);
      if (forbidden) return final(forbidden.message);
      logger.debug({ subscriptionId: subscription.id, uuid: payload.uuid, err: error }, 'eventgrid delivery failed');
      const reason = timeout.aborted ? `no complete response within ${totalTimeoutMs} ms` : describe(error);
      return { success: false, retryable: true, responseData: truncateUtf8(`Event Grid ${url.origin}: ${reason}`) };
    }
  }

  async function deliver(attempt: DeliveryAttemptRequest): Promise<DeliveryOutcome> {
    return inFlight.run(post(attempt));
  }

  return {
    key: 'eventgrid',
    async unusableReason() {
      try {
        await principal();
        return undefined;
      } catch (error) {
        if (isAsyncEventsError(error, 'SINK_NOT_CONFIGURED')) return error.message;
        throw error;
      }
    },
    deliver,
    async close() {
      await inFlight.settled();
      await Promise.allSettled([agent.close(), tokens.close()]);
    },
  };
}

function final(message: string, statusCode?: number): DeliveryOutcome {
  return { success: false, retryable: false, responseData: truncateUtf8(message), ...(statusCode !== undefined ? { statusCode } : {}) };
}

function findForbidden(error: unknown): AsyncEventsError | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (isAsyncEventsError(current, 'TARGET_FORBIDDEN')) return current;
  }
  return undefined;
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
  }
  return parts.join(': ') || String(error);
}
