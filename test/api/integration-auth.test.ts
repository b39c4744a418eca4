import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { createIntegrationAuth, createCompositeAuth, createApiTokenAuth } from '../../src/api/auth.ts';
import { integrationAsBearer } from '../../src/app.ts';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import type { Authenticator } from '../../src/api/dependencies.ts';
import { AsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/store.ts';
import { createDatabase, describeWith, dropDatabase, MARIADB } from '../support/services.ts';
import { startGraphqlServer } from '../graphql/harness.ts';
import { startHarness } from './harness.ts';

/*
 * Magento's integration tables with their columns from Magento_Integration and Magento_Authorization
 * db_schema.xml (foreign keys to admin_user / customer_entity left out: those tables are not needed here).
 */
function ddl(p: string): string[] {
  return [
    `CREATE TABLE ${p}oauth_consumer (
      entity_id int unsigned NOT NULL AUTO_INCREMENT,
      created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
      updated_at timestamp NULL DEFAULT '0000-00-00 00:00:00' ON UPDATE CURRENT_TIMESTAMP,
      name varchar(255) NOT NULL, \`key\` varchar(32) NOT NULL, secret varchar(128) NOT NULL,
      callback_url text, rejected_callback_url text NOT NULL,
      PRIMARY KEY (entity_id), UNIQUE KEY OAUTH_CONSUMER_KEY (\`key\`), UNIQUE KEY OAUTH_CONSUMER_SECRET (secret)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3`,
    `CREATE TABLE ${p}oauth_token (
      entity_id int unsigned NOT NULL AUTO_INCREMENT,
      consumer_id int unsigned DEFAULT NULL, admin_id int unsigned DEFAULT NULL, customer_id int unsigned DEFAULT NULL,
      type varchar(16) NOT NULL, token varchar(32) NOT NULL, secret varchar(128) NOT NULL, verifier varchar(32) DEFAULT NULL,
      callback_url text NOT NULL, revoked smallint unsigned NOT NULL DEFAULT 0, authorized smallint unsigned NOT NULL DEFAULT 0,
      user_type int DEFAULT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
      PRIMARY KEY (entity_id), UNIQUE KEY OAUTH_TOKEN_TOKEN (token), KEY OAUTH_TOKEN_CONSUMER_ID (consumer_id),
      CONSTRAINT ${p}OAUTH_TOKEN_CONSUMER_ID FOREIGN KEY (consumer_id) REFERENCES ${p}oauth_consumer (entity_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3`,
    `CREATE TABLE ${p}integration (
      integration_id int unsigned NOT NULL AUTO_INCREMENT,
      name varchar(255) NOT NULL, email varchar(255) NOT NULL, endpoint varchar(255) DEFAULT NULL,
      status smallint unsigned NOT NULL, consumer_id int unsigned DEFAULT NULL,
      created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      setup_type smallint unsigned NOT NULL DEFAULT 0, identity_link_url varchar(255) DEFAULT NULL,
      PRIMARY KEY (integration_id), UNIQUE KEY INTEGRATION_NAME (name), UNIQUE KEY INTEGRATION_CONSUMER_ID (consumer_id),
      CONSTRAINT ${p}INTEGRATION_CONSUMER_ID FOREIGN KEY (consumer_id) REFERENCES ${p}oauth_consumer (entity_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3`,
    `CREATE TABLE ${p}authorization_role (
      role_id int unsigned NOT NULL AUTO_INCREMENT, parent_id int unsigned NOT NULL DEFAULT 0,
      tree_level smallint unsigned NOT NULL DEFAULT 0, sort_order smallint unsigned NOT NULL DEFAULT 0,
      role_type varchar(1) NOT NULL DEFAULT '0', user_id int unsigned NOT NULL DEFAULT 0,
      user_type varchar(16) DEFAULT NULL, role_name varchar(50) DEFAULT NULL,
      PRIMARY KEY (role_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3`,
    `CREATE TABLE ${p}authorization_rule (
      rule_id int unsigned NOT NULL AUTO_INCREMENT, role_id int unsigned NOT NULL DEFAULT 0,
      resource_id varchar(255) DEFAULT NULL, privileges varchar(20) DEFAULT NULL, permission varchar(10) DEFAULT NULL,
      PRIMARY KEY (rule_id),
      CONSTRAINT ${p}AUTHORIZATION_RULE_ROLE_ID FOREIGN KEY (role_id) REFERENCES ${p}authorization_role (role_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3`,
  ];
}

type Conn = Awaited<ReturnType<typeof createConnection>>;

/**
 * An integration as Magento's admin leaves it after activation: consumer, integration, access token (user type 1),
 * and the role named after the integration with one rule per resource (allow or deny).
 */
async function addIntegration(conn: Conn, p: string, name: string, opts: { token: string; status?: number; revoked?: number; type?: string; rules: Record<string, 'allow' | 'deny'> }): Promise<number> {
  const [consumer] = await conn.query(`INSERT INTO ${p}oauth_consumer (name, \`key\`, secret, rejected_callback_url) VALUES (?, ?, ?, '')`, [name, `${name}-key`.slice(0, 32), `${name}-secret`]);
  const consumerId = (consumer as { insertId: number }).insertId;
  const [integration] = await conn.query(`INSERT INTO ${p}integration (name, email, status, consumer_id) VALUES (?, ?, ?, ?)`, [name, `${name}@example.com`, opts.status ?? 1, consumerId]);
  const integrationId = (integration as { insertId: number }).insertId;
  await conn.query(`INSERT INTO ${p}oauth_token (consumer_id, type, token, secret, callback_url, revoked, authorized, user_type) VALUES (?, ?, ?, 'enc-secret', 'oob', ?, 1, 1)`, [consumerId, opts.type ?? 'access', opts.token, opts.revoked ?? 0]);
  const [role] = await conn.query(`INSERT INTO ${p}authorization_role (parent_id, tree_level, sort_order, role_type, user_id, user_type, role_name) VALUES (0, 1, 0, 'U', ?, '1', ?)`, [integrationId, String(integrationId)]);
  const roleId = (role as { insertId: number }).insertId;
  for (const [resource, permission] of Object.entries(opts.rules)) {
    await conn.query(`INSERT INTO ${p}authorization_rule (role_id, resource_id, privileges, permission) VALUES (?, ?, NULL, ?)`, [roleId, resource, permission]);
  }
  return integrationId;
}

const TOKENS = {
  good: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  all: 'b1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  revoked: 'c1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  noResource: 'd1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  inactive: 'e1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  denied: 'f1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  request: '01b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
};

async function codeOf(auth: Authenticator, header: string | undefined): Promise<string> {
  try {
    await auth.authenticate(header);
    return 'OK';
  } catch (error) {
    if (error instanceof AsyncEventsError) return error.code;
    throw error;
  }
}

for (const prefix of ['', 'm2_']) {
  describeWith(['mariadb'], `Magento integration bearer tokens (MariaDB, table prefix "${prefix}")`, () => {
    let database: string;
    let conn: Conn;
    let store: Store;
    let goodId: number;

    beforeAll(async () => {
      database = await createDatabase('ae_api_auth');
      conn = await createConnection({ ...MARIADB, database });
      for (const statement of ddl(prefix)) await conn.query(statement);
      goodId = await addIntegration(conn, prefix, 'sidecar', { token: TOKENS.good, rules: { 'Magento_Backend::admin': 'allow', 'MageOS_AsyncEvents::manage': 'allow', 'Magento_Sales::sales': 'deny' } });
      await addIntegration(conn, prefix, 'everything', { token: TOKENS.all, rules: { 'Magento_Backend::all': 'allow' } });
      await addIntegration(conn, prefix, 'revoked', { token: TOKENS.revoked, revoked: 1, rules: { 'MageOS_AsyncEvents::manage': 'allow' } });
      await addIntegration(conn, prefix, 'sales-only', { token: TOKENS.noResource, rules: { 'Magento_Sales::sales': 'allow', 'MageOS_AsyncEvents::manage': 'deny' } });
      await addIntegration(conn, prefix, 'inactive', { token: TOKENS.inactive, status: 0, rules: { 'MageOS_AsyncEvents::manage': 'allow' } });
      await addIntegration(conn, prefix, 'denied-all', { token: TOKENS.denied, rules: { 'Magento_Backend::all': 'deny' } });
      await addIntegration(conn, prefix, 'request-token', { token: TOKENS.request, type: 'request', rules: { 'MageOS_AsyncEvents::manage': 'allow' } });
      store = await createStore({ database: { kind: 'mysql', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password, database }, tablePrefix: prefix, cryptKeys: ['0123456789abcdef0123456789abcdef'], logger: silentLogger() });
      await store.migrate();
      // Magento 2.4.4+ refuses integration tokens as bearer tokens unless this is set (see the bearer tests below).
      await store.configValues.set('oauth/consumer/enable_integration_as_bearer', '1');
    });
    afterAll(async () => {
      await store?.close();
      await conn?.end();
      if (database) await dropDatabase(database);
    });

    /** The app's bearer rule over core_config_data, re-read on every call (no cache), with optional env.php overrides. */
    const bearerRule = (overrides: Record<string, string> = {}) => integrationAsBearer(createAdminConfig(store.configValues, overrides, { ttlMs: 0 }));
    const auth = () => createIntegrationAuth({ db: store.db, logger: silentLogger(), tablePrefix: prefix, cacheTtlMs: 0, integrationAsBearer: bearerRule() });

    it('a valid integration token with MageOS_AsyncEvents::manage passes, naming the integration', async () => {
      expect(await auth().authenticate(`Bearer ${TOKENS.good}`)).toEqual({ kind: 'integration', integrationId: goodId, name: 'sidecar' });
    });

    it('an integration with "All" resources (Magento_Backend::all) passes', async () => {
      expect(await auth().authenticate(`Bearer ${TOKENS.all}`)).toMatchObject({ kind: 'integration', name: 'everything' });
    });

    it('a revoked token is 401', async () => {
      expect(await codeOf(auth(), `Bearer ${TOKENS.revoked}`)).toBe('UNAUTHORIZED');
    });

    it('a valid token without the resource is 403 with a message naming the integration and the resource', async () => {
      await expect(auth().authenticate(`Bearer ${TOKENS.noResource}`)).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/integration "sales-only" is not allowed MageOS_AsyncEvents::manage/),
      });
      expect(await codeOf(auth(), `Bearer ${TOKENS.denied}`)).toBe('FORBIDDEN');
    });

    it('garbage, unknown, non-access and missing tokens are 401', async () => {
      for (const header of ['Bearer not-a-token!', 'Bearer ffffffffffffffffffffffffffffffff', `Bearer ${'x'.repeat(300)}`, `Bearer ${TOKENS.request}`, undefined, 'Basic abc']) {
        expect(await codeOf(auth(), header), String(header).slice(0, 40)).toBe('UNAUTHORIZED');
      }
    });

    it('an inactive integration is 401', async () => {
      expect(await codeOf(auth(), `Bearer ${TOKENS.inactive}`)).toBe('UNAUTHORIZED');
    });

    it('a revoked token stops working within 5 s: the cache lives at most 5 s, even when a longer TTL is asked for', async () => {
      for (const cacheTtlMs of [undefined, 30_000]) {
        let now = 1_000_000;
        const cached = createIntegrationAuth({ db: store.db, logger: silentLogger(), tablePrefix: prefix, now: () => now, integrationAsBearer: bearerRule(), ...(cacheTtlMs ? { cacheTtlMs } : {}) });
        const token = `1${String(cacheTtlMs ?? 0).padStart(5, '0')}c3d4e5f6a7b8c9d0e1f2a3b4c5d6`.slice(0, 32);
        await addIntegration(conn, prefix, `cache-${prefix || 'none'}-${cacheTtlMs ?? 'default'}`, { token, rules: { 'MageOS_AsyncEvents::manage': 'allow' } });
        expect(await codeOf(cached, `Bearer ${token}`)).toBe('OK');
        await conn.query(`UPDATE ${prefix}oauth_token SET revoked = 1 WHERE token = ?`, [token]);
        now += 4_900;
        expect(await codeOf(cached, `Bearer ${token}`), 'still cached').toBe('OK');
        now += 200;
        expect(await codeOf(cached, `Bearer ${token}`), 'revoked after 5.1 s').toBe('UNAUTHORIZED');
      }
    });

    it('honours oauth/consumer/enable_integration_as_bearer as Magento 2.4.4+ does: 0 makes every integration token a 401', async () => {
      const off = createIntegrationAuth({ db: store.db, logger: silentLogger(), tablePrefix: prefix, cacheTtlMs: 0, integrationAsBearer: bearerRule({ 'oauth/consumer/enable_integration_as_bearer': '0' }) });
      await expect(off.authenticate(`Bearer ${TOKENS.good}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED', details: { reason: expect.stringMatching(/enable_integration_as_bearer/) } });
      // Without the flag the token is no token at all: 401 even where the role lacks the resource (not 403).
      expect(await codeOf(off, `Bearer ${TOKENS.noResource}`)).toBe('UNAUTHORIZED');
      // Magento_Analytics' plugin: its own integration is always allowed as bearer.
      const analytics = createIntegrationAuth({
        db: store.db, logger: silentLogger(), tablePrefix: prefix, cacheTtlMs: 0,
        integrationAsBearer: bearerRule({ 'oauth/consumer/enable_integration_as_bearer': '0', 'analytics/integration_name': 'everything' }),
      });
      expect(await codeOf(analytics, `Bearer ${TOKENS.all}`)).toBe('OK');
      expect(await codeOf(analytics, `Bearer ${TOKENS.good}`)).toBe('UNAUTHORIZED');
      // The value stored in core_config_data is read live: switching it off in Magento's admin takes effect.
      const live = auth();
      expect(await codeOf(live, `Bearer ${TOKENS.good}`)).toBe('OK');
      await store.configValues.set('oauth/consumer/enable_integration_as_bearer', '0');
      try {
        expect(await codeOf(live, `Bearer ${TOKENS.good}`)).toBe('UNAUTHORIZED');
      } finally {
        await store.configValues.set('oauth/consumer/enable_integration_as_bearer', '1');
      }
    });

    it('through HTTP: 200 with the integration token, 403 without the resource, 401 revoked; the API token still works beside it', async () => {
      const h = await startHarness({ auth: createCompositeAuth([createApiTokenAuth('local-token'), auth()]) });
      try {
        expect((await h.request('GET', '/rest/V1/async_events?searchCriteria=', { token: TOKENS.good })).status).toBe(200);
        expect((await h.request('GET', '/rest/V1/async_events?searchCriteria=', { token: 'local-token' })).status).toBe(200);
        const forbidden = await h.request('GET', '/rest/V1/async_events?searchCriteria=', { token: TOKENS.noResource });
        expect(forbidden.status).toBe(403);
        expect(forbidden.json).toMatchObject({ parameters: { integration: 'sales-only', resources: 'MageOS_AsyncEvents::manage' } });
        const revoked = await h.request('GET', '/rest/V1/async_events?searchCriteria=', { token: TOKENS.revoked });
        expect(revoked.status).toBe(401);
        expect(revoked.json).toEqual({ message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'MageOS_AsyncEvents::manage' } });
      } finally {
        await h.close();
      }
    });

    it('isAllowed answers for integrations from their explicit allow rules, and not for other principals', async () => {
      const a = auth();
      expect(await a.isAllowed?.({ kind: 'integration', integrationId: goodId, name: 'sidecar' }, ['MageOS_AsyncEvents::manage', 'Magento_Backend::admin'])).toBe(true);
      expect(await a.isAllowed?.({ kind: 'integration', integrationId: goodId, name: 'sidecar' }, ['MageOS_AsyncEvents::manage', 'Magento_Sales::sales'])).toBe(false);
      expect(await a.isAllowed?.({ kind: 'integration', integrationId: goodId, name: 'sidecar' }, ['Magento_Customer::customer'])).toBe(false);
      expect(await a.isAllowed?.({ kind: 'api-token' }, ['Magento_Sales::sales'])).toBeUndefined();
    });

    it("subscribing needs the event's <resources>, as upstream's validateResources; PUT too", async () => {
      const h = await startHarness({
        auth: createCompositeAuth([createApiTokenAuth('local-token'), auth()]),
        eventResources: { 'sales.order.created': ['Magento_Sales::sales'] },
      });
      try {
        const body = { asyncEvent: { event_name: 'sales.order.created', recipient_url: 'https://r.example.com/', verification_token: 'tok', metadata: 'http' } };
        const refused = await h.request('POST', '/rest/V1/async_event', { body, token: TOKENS.good });
        expect(refused.status).toBe(403);
        expect(refused.json).toEqual({ message: "The consumer isn't authorized to access %resources.", parameters: { resources: ['Magento_Sales::sales'] } });
        expect((await h.store.subscriptions.list()).totalCount).toBe(0);
        const viaAll = await h.request('POST', '/rest/V1/async_event', { body, token: TOKENS.all });
        expect(viaAll.status, viaAll.text).toBe(200);
        const id = (viaAll.json as { subscription_id: number }).subscription_id;
        expect((await h.request('POST', '/rest/V1/async_event', { body, token: 'local-token' })).status).toBe(200);
        // Redirecting an existing subscription's deliveries needs the same resources.
        const put = await h.request('PUT', `/rest/V1/async_event/${id}`, { body: { asyncEvent: { recipient_url: 'https://attacker.example.com/' } }, token: TOKENS.good });
        expect(put.status).toBe(403);
        expect((await h.store.subscriptions.get(id))?.recipientUrl).toBe('https://r.example.com/');
        // Events without <resources> need only MageOS_AsyncEvents::manage.
        expect((await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...body.asyncEvent, event_name: 'example.event' } }, token: TOKENS.good })).status).toBe(200);

        // The same token is refused on GraphQL, subscribing and redirecting alike; the "All" token is not.
        const graphql = await startGraphqlServer(h.deps);
        try {
          const before = await h.store.subscriptions.list();
          const input = { eventName: 'sales.order.created', recipientUrl: 'https://r.example.com/', verificationToken: 'tok' };
          const subscribe = 'mutation ($input: SubscribeInput!) { subscribe(input: $input) { id } }';
          const refusedGraphql = await graphql.query(subscribe, { input }, TOKENS.good);
          expect(refusedGraphql.status).toBe(403);
          expect(refusedGraphql.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
          const redirect = await graphql.query('mutation { updateSubscription(id: "' + id + '", input: { recipientUrl: "https://attacker.example.com/" }) { id } }', {}, TOKENS.good);
          expect(redirect.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
          expect(await h.store.subscriptions.list()).toEqual(before);
          expect((await graphql.query(subscribe, { input }, TOKENS.all)).errors).toBeUndefined();
        } finally {
          await graphql.close();
        }
      } finally {
        await h.close();
      }
    });

    it("publishing, reading a trace or its payload and replaying need the event's <resources> too, on REST and GraphQL", async () => {
      const h = await startHarness({
        auth: createCompositeAuth([createApiTokenAuth('local-token'), auth()]),
        eventResources: { 'sales.order.created': ['Magento_Sales::sales'] },
      });
      const graphql = await startGraphqlServer(h.deps);
      try {
        const sales = await h.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: 'https://r.example.com/', verificationToken: 'tok', metadata: 'http' });
        const other = await h.store.subscriptions.create({ eventName: 'example.event', recipientUrl: 'https://r.example.com/', verificationToken: 'tok', metadata: 'http' });
        const salesUuid = '0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a';
        const otherUuid = '1b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a';
        for (const [uuid, subscription] of [[salesUuid, sales], [otherUuid, other]] as const) {
          await h.store.log.openChain({ uuid, subscriptionId: subscription.id, eventName: subscription.eventName, storeId: '1' });
          await h.store.log.recordAttempt({ uuid, subscriptionId: subscription.id, eventName: subscription.eventName, storeId: '1', success: true, responseData: 'HTTP 200', serializedData: '{"data":{"customer_email":"roni_cost@example.com"}}', chainStatus: 'delivered', deathCount: 0, nextAttemptAt: null });
        }
        h.hits = [
          { logId: 1, uuid: salesUuid, eventName: 'sales.order.created', success: true, created: new Date(), subscriptionId: sales.id, recipientUrl: sales.recipientUrl, responseData: 'HTTP 200' },
          { logId: 2, uuid: otherUuid, eventName: 'example.event', success: true, created: new Date(), subscriptionId: other.id, recipientUrl: other.recipientUrl, responseData: 'HTTP 200' },
        ];
        const publish = { event_name: 'sales.order.created', arguments: { id: 3 } };
        const limited = await h.request('POST', '/rest/V1/async_events/publish', { body: publish, token: TOKENS.good });
        expect(limited.status).toBe(403);
        expect(limited.json).toEqual({ message: "The consumer isn't authorized to access %resources.", parameters: { resources: ['Magento_Sales::sales'] } });
        expect(h.calls.publish).toEqual([]);
        expect((await h.request('POST', '/rest/V1/async_events/publish', { body: publish, token: TOKENS.all })).status).toBe(200);
        expect((await h.request('POST', '/rest/V1/async_events/publish', { body: { ...publish, event_name: 'example.event' }, token: TOKENS.good })).status).toBe(200);

        const trace = await h.request('GET', `/rest/V1/async_events/logs/${salesUuid}`, { token: TOKENS.good });
        expect(trace.status).toBe(403);
        expect(trace.text).not.toContain('roni_cost');
        expect((await h.request('GET', `/rest/V1/async_events/logs/${salesUuid}`, { token: TOKENS.all })).status).toBe(200);
        expect((await h.request('GET', `/rest/V1/async_events/logs/${otherUuid}`, { token: TOKENS.good })).status).toBe(200);

        expect((await h.request('POST', `/rest/V1/async_events/logs/${salesUuid}/replay`, { token: TOKENS.good })).status).toBe(403);
        expect(h.calls.replay).toEqual([]);
        const byQuery = await h.request('POST', '/rest/V1/async_events/replay', { body: { query: 'success:true' }, token: TOKENS.good });
        expect(byQuery.json).toMatchObject({ count: 1, replayed: [{ uuid: otherUuid }], failed: [{ uuid: salesUuid, message: expect.stringContaining('Magento_Sales::sales') }] });
        expect(h.calls.replay).toEqual([otherUuid]);

        const graphTrace = await graphql.query(`{ trace(uuid: "${salesUuid}") { payload } }`, {}, TOKENS.good);
        expect(graphTrace.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
        expect(JSON.stringify(graphTrace)).not.toContain('roni_cost');
        expect((await graphql.query(`{ trace(uuid: "${salesUuid}") { payload } }`, {}, TOKENS.all)).errors).toBeUndefined();
        const graphReplay = await graphql.query(`mutation { replay(uuid: "${salesUuid}") { uuid } }`, {}, TOKENS.good);
        expect(graphReplay.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
        const graphQuery = await graphql.query<{ replayQuery: { matched: number; failed: { uuid: string; code: string }[] } }>(
          'mutation { replayQuery(query: "success:true") { matched failed { uuid code } } }', {}, TOKENS.good,
        );
        expect(graphQuery.data?.replayQuery).toEqual({ matched: 2, failed: [{ uuid: salesUuid, code: 'FORBIDDEN' }] });
        expect(h.calls.replay).toEqual([otherUuid, otherUuid]);
      } finally {
        await graphql.close();
        await h.close();
      }
    });

    it('an unreachable database is 503, not a misleading 401', async () => {
      const broken = await createStore({ database: { kind: 'mysql', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password, database }, tablePrefix: prefix, cryptKeys: ['0123456789abcdef0123456789abcdef'], logger: silentLogger() });
      await sql`SELECT 1`.execute(broken.db);
      await broken.close();
      const dead = createIntegrationAuth({ db: broken.db, logger: silentLogger(), tablePrefix: prefix, cacheTtlMs: 0, integrationAsBearer: async () => true });
      expect(await codeOf(dead, `Bearer ${TOKENS.good}`)).toBe('STORE_UNAVAILABLE');
    });
  });
}
