import { createHash, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/schema.ts';
import { TablePrefixPlugin } from '../store/table-prefix-plugin.ts';
import { apiError, MANAGE_RESOURCE, NOT_AUTHORIZED_MESSAGE } from './api-error.ts';
import type { Authenticator, Principal } from './dependencies.ts';
import type { MagentoAuthTables } from './magento-auth-schema.ts';

/** "All" resource access of an integration. */
export const ALL_RESOURCES = 'Magento_Backend::all';

/** Magento's UserContextInterface::USER_TYPE_INTEGRATION. */
const USER_TYPE_INTEGRATION = 1;
/** Magento\Integration\Model\Integration::STATUS_ACTIVE. */
const INTEGRATION_ACTIVE = 1;

/** 401 in Magento's words; `reason` goes to the log only, never to the caller. */
function unauthorized(reason: string): AsyncEventsError {
  const error = apiError('UNAUTHORIZED', NOT_AUTHORIZED_MESSAGE, { resources: MANAGE_RESOURCE });
  return new AsyncEventsError('UNAUTHORIZED', error.message, { ...error.details, reason });
}

/** `Authorization: Bearer <token>`: two space-separated parts, scheme case-insensitive (as TokenUserContext). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  return parts[1];
}

function missingOrMalformed(header: string | undefined): AsyncEventsError {
  return unauthorized(header === undefined ? 'no Authorization header' : 'Authorization header is not "Bearer <token>"');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The sidecar's own token (ASYNC_EVENTS_API_TOKEN), compared in constant time; it may use every resource. */
export function createApiTokenAuth(token: string): Authenticator {
  if (token === '') throw new AsyncEventsError('SETTING_INVALID', 'ASYNC_EVENTS_API_TOKEN must not be empty');
  const expected = digest(token);
  return {
    async authenticate(header) {
      const given = bearerToken(header);
      if (given === undefined) throw missingOrMalformed(header);
      // Hashing first makes both sides the same length, so the comparison time says nothing about the token.
      if (!timingSafeEqual(digest(given), expected)) throw unauthorized('bearer token does not match ASYNC_EVENTS_API_TOKEN');
      return { kind: 'api-token' };
    },
    async isAllowed(principal) {
      return principal.kind === 'api-token' ? true : undefined;
    },
  };
}

export interface IntegrationAuthOptions {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /**
   * Magento 2.4.4+'s BearerTokenValidator: whether this integration's access token may be used as a standalone
   * bearer token (`oauth/consumer/enable_integration_as_bearer`, or the Magento Analytics integration). Asked on
   * every request, so turning the setting off takes effect as soon as the admin config is re-read.
   */
  readonly integrationAsBearer: (integrationName: string) => Promise<boolean>;
  /**
   * How long a token's verdict and an integration's resources are reused; default and most 5 s, so a token revoked
   * in Magento stops working within 5 s. 0 disables the cache.
   */
  readonly cacheTtlMs?: number;
  /**
   * env.php `db.table_prefix`. The store's plugin prefixes only its own tables (oauth_token among them); this
   * one prefixes the integration and authorization tables read here.
   */
  readonly tablePrefix?: string;
  readonly now?: () => number;
}

/** A refusal of a real integration's token (no resource) still names the integration: the bearer rule comes first. */
type Verdict =
  | { readonly ok: true; readonly principal: Principal & { readonly kind: 'integration' } }
  | { readonly ok: false; readonly error: AsyncEventsError; readonly integration?: string };

/** The longest a revoked token, or a role changed in Magento, may go on working here. */
export const MAX_AUTH_CACHE_MS = 5_000;

const MAX_CACHED = 1000;

/** A small TTL map, bounded so a flood of random tokens cannot grow it without end. */
function createTtlCache<V>(ttl: number, now: () => number) {
  const entries = new Map<string, { expires: number; value: V }>();
  return {
    get(key: string): V | undefined {
      const hit = entries.get(key);
      return hit && hit.expires > now() ? hit.value : undefined;
    },
    set(key: string, value: V): void {
      if (ttl <= 0) return;
      if (entries.size >= MAX_CACHED) entries.delete(entries.keys().next().value as string);
      entries.set(key, { expires: now() + ttl, value });
    },
  };
}

/**
 * Magento integration access tokens: an `oauth_token` row of type `access`, not revoked, user type integration,
 * whose consumer belongs to an active integration whose ACL role allows MageOS_AsyncEvents::manage (or has "All"
 * resources). Verdicts are cached briefly so a busy client does not cost queries on every request.
 */
export function createIntegrationAuth(options: IntegrationAuthOptions): Authenticator {
  const tables = options.db.withTables<MagentoAuthTables>();
  const prefix = options.tablePrefix ?? '';
  const db = prefix === '' ? tables : tables.withPlugin(new TablePrefixPlugin(prefix, ['oauth_consumer', 'integration', 'authorization_role', 'authorization_rule']));
  const ttl = Math.min(options.cacheTtlMs ?? MAX_AUTH_CACHE_MS, MAX_AUTH_CACHE_MS);
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ stage: 'api-auth' });
  const verdicts = createTtlCache<Verdict>(ttl, now);
  const grants = createTtlCache<ReadonlySet<string>>(ttl, now);

  /** Resources the integration's role allows (explicit `allow` rules; a resource without a rule is not allowed). */
  async function allowedResources(integrationId: number): Promise<ReadonlySet<string>> {
    const key = String(integrationId);
    const cached = grants.get(key);
    if (cached) return cached;
    const rows = await db
      .selectFrom('authorization_role as ro')
      .innerJoin('authorization_rule as ru', 'ru.role_id', 'ro.role_id')
      .select('ru.resource_id')
      .where('ro.user_type', '=', String(USER_TYPE_INTEGRATION))
      .where('ro.user_id', '=', integrationId)
      .where('ru.permission', '=', 'allow')
      .execute();
    const allowed = new Set(rows.map((r) => r.resource_id).filter((r): r is string => r !== null));
    grants.set(key, allowed);
    return allowed;
  }

  const permits = (allowed: ReadonlySet<string>, resource: string) => allowed.has(ALL_RESOURCES) || allowed.has(resource);

  async function resolve(token: string): Promise<Verdict> {
    // Magento tokens are 32 alphanumerics (varchar 32); anything else cannot be one, so no query is spent on it.
    if (!/^[A-Za-z0-9]{1,64}$/.test(token)) return { ok: false, error: unauthorized('token has characters or length no Magento token has') };
    const row = await db
      .selectFrom('oauth_token as t')
      .leftJoin('integration as i', 'i.consumer_id', 't.consumer_id')
      .select(['t.type', 't.revoked', 't.user_type', 'i.integration_id', 'i.name', 'i.status'])
      .where('t.token', '=', token)
      .executeTakeFirst();
    if (!row) return { ok: false, error: unauthorized('no such token in oauth_token') };
    if (row.type !== 'access') return { ok: false, error: unauthorized(`token is of type "${row.type}", not an access token`) };
    if (Number(row.revoked) !== 0) return { ok: false, error: unauthorized('token is revoked') };
    if (Number(row.user_type) !== USER_TYPE_INTEGRATION) return { ok: false, error: unauthorized(`token belongs to user type ${String(row.user_type)}, not an integration`) };
    if (row.integration_id === null || row.integration_id === undefined) return { ok: false, error: unauthorized("no integration uses the token's consumer") };
    const integrationId = Number(row.integration_id);
    const name = row.name ?? String(integrationId);
    if (Number(row.status) !== INTEGRATION_ACTIVE) return { ok: false, error: unauthorized(`integration "${name}" is not active (status ${String(row.status)})`) };
    if (!permits(await allowedResources(integrationId), MANAGE_RESOURCE)) {
      return {
        ok: false,
        integration: name,
        error: apiError(
          'FORBIDDEN',
          'The integration "%integration" is not allowed %resources. Grant it in System > Extensions > Integrations > API and try again.',
          { integration: name, resources: MANAGE_RESOURCE },
        ),
      };
    }
    return { ok: true, principal: { kind: 'integration', integrationId, name } };
  }

  async function bearerAllowed(integration: string): Promise<boolean> {
    try {
      return await options.integrationAsBearer(integration);
    } catch (error) {
      throw unavailable(error);
    }
  }

  function unavailable(error: unknown): AsyncEventsError {
    return new AsyncEventsError('STORE_UNAVAILABLE', 'Cannot check the integration token: the Magento database did not answer.', {}, { cause: error });
  }

  return {
    async authenticate(header) {
      const token = bearerToken(header);
      if (token === undefined) throw missingOrMalformed(header);
      const key = digest(token).toString('hex');
      let verdict = verdicts.get(key);
      if (!verdict) {
        try {
          verdict = await resolve(token);
        } catch (error) {
          throw unavailable(error);
        }
        verdicts.set(key, verdict);
      }
      const integration = verdict.ok ? verdict.principal.name : verdict.integration;
      // Magento treats a token refused as bearer as no token at all: 401 whatever the integration's role allows.
      if (integration !== undefined && !(await bearerAllowed(integration))) {
        logger.debug({ integration }, 'integration token refused: oauth/consumer/enable_integration_as_bearer is off');
        throw unauthorized(`integration "${integration}" may not use its access token as a bearer token (oauth/consumer/enable_integration_as_bearer is 0)`);
      }
      if (verdict.ok) return verdict.principal;
      logger.debug({ reason: verdict.error.details.reason, code: verdict.error.code }, 'integration token refused');
      throw verdict.error;
    },
    async isAllowed(principal, resources) {
      if (principal.kind !== 'integration') return undefined;
      let allowed: ReadonlySet<string>;
      try {
        allowed = await allowedResources(principal.integrationId);
      } catch (error) {
        throw unavailable(error);
      }
      return resources.every((resource) => permits(allowed, resource));
    },
  };
}

/**
 * Tries each authenticator in turn; the first principal wins. When all refuse, a 403 (a real token without the
 * resource) says more than a 401, and an unavailable database says more than either.
 */
export function createCompositeAuth(authenticators: readonly Authenticator[]): Authenticator {
  return {
    async authenticate(header) {
      const failures: unknown[] = [];
      for (const authenticator of authenticators) {
        try {
          return await authenticator.authenticate(header);
        } catch (error) {
          failures.push(error);
        }
      }
      const forbidden = failures.find((e) => isAsyncEventsError(e, 'FORBIDDEN'));
      if (forbidden) throw forbidden;
      const other = failures.find((e) => !isAsyncEventsError(e, 'UNAUTHORIZED'));
      if (other) throw other;
      throw failures[0] ?? unauthorized('no authenticator configured');
    },
    async isAllowed(principal, resources) {
      for (const authenticator of authenticators) {
        const answer = await authenticator.isAllowed?.(principal, resources);
        if (answer !== undefined) return answer;
      }
      return undefined;
    },
  };
}
