import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { truncateUtf8 } from './http.ts';

/*
 * OAuth2 client-credentials tokens from Microsoft Entra ID (Azure AD) for a service principal, as upstream's
 * EventGrid notifier gets them. The authority host follows AZURE_AUTHORITY_HOST like the Azure SDKs. Written on
 * undici because @azure/identity's current releases need Node 22 and MSAL refuses an authority that is not https,
 * so it could not be pointed at a local stand-in.
 */

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const EVENTGRID_SCOPE = 'https://eventgrid.azure.net/.default';
/** A token is renewed this long before it expires, so no request leaves with one about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface ServicePrincipal {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A token endpoint failure with its retry decision, made where the answer is read. */
export class TokenEndpointError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface TokenSource {
  token(principal: ServicePrincipal, signal?: AbortSignal): Promise<string>;
  /** Forgets the cached token of a principal (Event Grid answered 401 with it). */
  forget(principal: ServicePrincipal): void;
  close(): Promise<void>;
}

interface Cached {
  readonly token: Promise<{ value: string; renewAt: number }>;
}

export function createTokenSource(options: { authorityHost?: () => string | undefined; timeoutMs?: number; now?: () => number }): TokenSource {
  const agent = new Agent({ headersTimeout: options.timeoutMs ?? 15_000, bodyTimeout: options.timeoutMs ?? 15_000 });
  const now = options.now ?? Date.now;
  const cache = new Map<string, Cached>();
  const authority = () => (options.authorityHost?.() || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
  const keyOf = (principal: ServicePrincipal) =>
    createHash('sha256').update(JSON.stringify([authority(), principal.tenantId, principal.clientId, principal.clientSecret])).digest('hex');

  async function fetchToken(principal: ServicePrincipal, signal?: AbortSignal): Promise<{ value: string; renewAt: number }> {
    const url = `${authority()}/${encodeURIComponent(principal.tenantId)}/oauth2/v2.0/token`;
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: principal.clientId, client_secret: principal.clientSecret, scope: EVENTGRID_SCOPE }).toString();
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        dispatcher: agent,
        ...(signal ? { signal } : {}),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new TokenEndpointError(`Azure token endpoint ${url} could not be reached: ${(error as Error).message}`, true);
    }
    if (status !== 200) {
      const description = describeTokenError(text);
      const retryable = status === 408 || status === 429 || status >= 500;
      throw new TokenEndpointError(
        `Azure token endpoint ${url} answered HTTP ${status}${description ? `: ${description}` : ''}` +
          (retryable ? '' : '; check async_events_azure/service_principal/tenant_id, async_events_azure/service_principal/client_id and async_events_azure/service_principal/client_secret'),
        retryable,
      );
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new TokenEndpointError(`Azure token endpoint ${url} answered HTTP 200 without JSON: ${truncateUtf8(text, 200)}`, true);
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new TokenEndpointError(`Azure token endpoint ${url} answered without an access_token`, true);
    }
    const lifetimeSeconds = Number(parsed.expires_in);
    const lifetimeMs = Number.isFinite(lifetimeSeconds) && lifetimeSeconds > 0 ? lifetimeSeconds * 1000 : 3600_000;
    return { value: parsed.access_token, renewAt: now() + Math.max(0, lifetimeMs - RENEW_BEFORE_MS) };
  }

  return {
    async token(principal, signal) {
      const key = keyOf(principal);
      const cached = cache.get(key);
      if (cached) {
        const settled = await cached.token.catch(() => undefined);
        if (settled && settled.renewAt > now()) return settled.value;
        if (cache.get(key) === cached) cache.delete(key);
        else return this.token(principal, signal);
      }
      // Concurrent deliveries wait for one token request.
      const entry: Cached = { token: fetchToken(principal, signal) };
      cache.set(key, entry);
      try {
        return (await entry.token).value;
      } catch (error) {
        if (cache.get(key) === entry) cache.delete(key);
        throw error;
      }
    },
    forget(principal) {
      cache.delete(keyOf(principal));
    },
    async close() {
      cache.clear();
      await agent.close();
    },
  };
}

/** `error: error_description` of an OAuth2 error answer, without the trace ids Entra appends; the secret is never in it. */
function describeTokenError(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const description = typeof parsed.error_description === 'string' ? parsed.error_description.split(/\r?\n/)[0] : undefined;
    return [parsed.error, description].filter((part) => typeof part === 'string' && part !== '').join(': ');
  } catch {
    return truncateUtf8(text, 200);
  }
}
