import { request } from 'undici';
import { createAppParts, type AppParts } from './app.ts';
import { formatConfigError } from './config/config-error.ts';
import { describeSettings, loadSettings, type Settings } from './config/settings.ts';
import { withGeneratedFiles } from './config/generated-files.ts';
import { coerceError } from './errors.ts';
import { silentLogger } from './logger.ts';

/*
 * `async-events doctor`: checks every configured part on its own, so one broken part does not hide the others,
 * and says for each what is wrong and how to fix it. Exit 0 when all is well, 1 otherwise. It only reads: no
 * database, folder, key or queue is created (each part is opened through the app's parts, read-only, and closed).
 */

interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** Works now, but something will fail later (shown with `!`, not counted as a failure). */
  readonly warning?: boolean;
  readonly detail: string;
  readonly fix?: string;
}

export async function runDoctor(flags: Readonly<Record<string, string | boolean | undefined>>, out: { log(line: string): void }): Promise<0 | 1> {
  const checks: Check[] = [];
  let settings: Settings;
  try {
    const loaded = await loadSettings({ flags: Object.fromEntries(Object.entries(flags).filter((entry): entry is [string, string] => typeof entry[1] === 'string')) });
    settings = await withGeneratedFiles(loaded);
  } catch (error) {
    out.log(`✗ settings: ${coerceError(error).message}`);
    return 1;
  }
  out.log('settings:');
  // The origin names the file when there is one: the .env or env.php/config.php read, the generated key or token.
  for (const row of describeSettings(settings)) out.log(`  ${row.name.padEnd(38)} ${String(row.value).padEnd(40)} (${row.origin}${row.file ? ` ${row.file}` : ''})`);
  out.log('');

  // Each check has its own parts, so one that fails to open does not hide the others.
  const open = () => createAppParts({ settings, logger: silentLogger(), mustExist: true, amqp: { unavailableTimeoutMs: 5000, reconnect: { initialDelayMs: 100, maxDelayMs: 200 } } });
  checks.push(await checkMagentoRoot(settings, open()));
  const bridge = await checkBridgeRoutes(open());
  if (bridge) checks.push(bridge);
  checks.push(await checkDatabase(settings, open()));
  checks.push(await checkQueue(settings, open()));
  checks.push(await checkCallback(settings));
  checks.push(await checkSearch(settings));

  for (const check of checks) {
    out.log(`${check.ok ? (check.warning ? '!' : '✔') : '✗'} ${check.name}: ${check.detail}`);
    if ((!check.ok || check.warning) && check.fix) out.log(`    fix: ${check.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  out.log(failed === 0 ? '\nall checks passed' : `\n${failed} check(s) failed`);
  return failed === 0 ? 0 : 1;
}

async function attempt(name: string, fix: string, run: () => Promise<string>, parts?: AppParts): Promise<Check> {
  try {
    return { name, ok: true, detail: await run() };
  } catch (error) {
    return { name, ok: false, detail: coerceError(error).message, fix };
  } finally {
    await parts?.close();
  }
}

function checkMagentoRoot(settings: Settings, parts: AppParts): Promise<Check> {
  return attempt('Magento root', 'set ASYNC_EVENTS_MAGENTO_ROOT to the Magento install (the folder holding app/etc/config.php), then run `async-events validate`', async () => {
    const { loaded } = await parts.config();
    if (loaded.errors.length > 0) {
      throw new Error(`${loaded.errors.length} error(s) in async_events.xml files, first: ${formatConfigError(loaded.errors[0] ?? { file: '?', line: 0, message: '?' })}`);
    }
    return `${settings.magentoRoot}: ${loaded.modules.length} enabled modules, ${loaded.registry.size} events in ${loaded.files.length} async_events.xml file(s)`;
  }, parts);
}

/**
 * Events whose service Magento exposes no REST route for are fetched through the route the generated bridge module
 * adds; until that module is installed, their deliveries are parked with CALLBACK_NO_ROUTE. A warning: every other
 * event works. Undefined when no event needs the bridge or the configuration could not be read (the root check says so).
 */
async function checkBridgeRoutes(parts: AppParts): Promise<Check | undefined> {
  try {
    const { loaded } = await parts.config();
    if (loaded.errors.length > 0) return undefined;
    const [{ loadWebapiRoutes }, { collectBridgeRoutes, serviceKey }] = await Promise.all([import('./magento/webapi-routes.ts'), import('./bridge/routes.ts')]);
    const routes = (await loadWebapiRoutes(loaded.modules)).all();
    const isBridge = (module: string) => module === 'MageOS_AsyncEvents';
    const routed = new Set(routes.filter((r) => !isBridge(r.module)).map((r) => serviceKey(r.serviceClass, r.serviceMethod)));
    const installed = new Set(routes.filter((r) => isBridge(r.module)).map((r) => r.url));
    const missing = collectBridgeRoutes(loaded.registry, routed).filter((route) => !installed.has(route.url));
    if (missing.length === 0) return undefined;
    const named = missing.map((r) => `${r.eventName} (${r.serviceClass}::${r.serviceMethod})`).join(', ');
    return {
      name: 'bridge routes',
      ok: true,
      warning: true,
      detail: `${missing.length} event(s) call a service Magento has no REST route for, so they need the generated bridge module's routes, which are not installed: ${named}`,
      fix: `run \`async-events generate --out ${parts.settings.magentoRoot}/app/code/MageOS/AsyncEvents\` and \`bin/magento setup:upgrade\` in Magento; until then these events are parked`,
    };
  } catch (error) {
    return { name: 'bridge routes', ok: false, detail: coerceError(error).message, fix: 'fix the events named above in their async_events.xml, then run `async-events validate`' };
  } finally {
    await parts.close();
  }
}

function checkDatabase(settings: Settings, parts: AppParts): Promise<Check> {
  const where = settings.database.kind === 'mysql' ? `${settings.database.user}@${settings.database.host}:${settings.database.port}/${settings.database.database}` : settings.database.path;
  return attempt(
    'database',
    settings.database.kind === 'mysql'
      ? 'check ASYNC_EVENTS_DB (mysql://user:pass@host:port/db) or db.connection.default in env.php, and that the server runs; then `async-events migrate`'
      : 'point ASYNC_EVENTS_DB=sqlite:PATH at the database, or create it with `async-events migrate` (or `start`)',
    async () => {
      const store = await parts.store();
      await store.ping();
      const subscriptions = await store.subscriptions.list({ pageSize: 1 }).catch(() => undefined);
      if (!subscriptions) return `${where} reachable, but the tables are missing: run \`async-events migrate\``;
      return `${where} reachable, ${subscriptions.totalCount} subscription(s)`;
    },
    parts,
  );
}

function checkQueue(settings: Settings, parts: AppParts): Promise<Check> {
  if (!settings.amqpUrl) return Promise.resolve({ name: 'queue', ok: true, detail: 'database queue (ASYNC_EVENTS_AMQP is empty): tables queue, queue_message, queue_message_status' });
  const shown = settings.amqpUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  return attempt(
    'queue',
    'check ASYNC_EVENTS_AMQP (amqp://user:pass@host:port/vhost) or queue.amqp in env.php, and that RabbitMQ runs; `async-events start` declares the queues',
    async () => {
      const transport = await parts.transport();
      const depth = await transport.depth('event.trigger').catch((error: unknown) => {
        // A broker that answers "no such queue" is reachable; anything else is the failure to report.
        if (/NOT_FOUND|404/.test(coerceError(error).message)) return undefined;
        throw error;
      });
      if (depth === undefined) return `RabbitMQ at ${shown} reachable, but event.trigger is not declared yet: \`async-events start\` declares it`;
      return `RabbitMQ at ${shown}, ${depth} message(s) waiting in event.trigger`;
    },
    parts,
  );
}

function checkCallback(settings: Settings): Promise<Check> {
  if (!settings.magentoUrl) {
    return Promise.resolve({
      name: 'Magento callback',
      ok: false,
      detail: 'no Magento URL: events cannot fetch their data',
      fix: 'set ASYNC_EVENTS_MAGENTO_URL (e.g. https://shop.example.com) and ASYNC_EVENTS_MAGENTO_TOKEN (an integration access token); `npm start` uses a local stand-in instead',
    });
  }
  return attempt(
    'Magento callback',
    'create an integration in Magento admin (System › Integrations) with the events\' ACL resources, activate it, set ASYNC_EVENTS_MAGENTO_TOKEN to its access token, and enable oauth/consumer/enable_integration_as_bearer',
    async () => {
      if (!settings.magentoToken) throw new Error('ASYNC_EVENTS_MAGENTO_TOKEN is not set');
      const url = new URL('rest/all/V1/store/storeViews', settings.magentoUrl?.endsWith('/') ? settings.magentoUrl : `${settings.magentoUrl}/`);
      const response = await request(url, { headers: { authorization: `Bearer ${settings.magentoToken}` }, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await response.body.text();
      if (response.statusCode === 401) throw new Error(`Magento refused the token (401): ${text.slice(0, 200)}`);
      if (response.statusCode >= 500) throw new Error(`Magento answered ${response.statusCode}: ${text.slice(0, 200)}`);
      return `${settings.magentoUrl} answered ${response.statusCode} with the integration token`;
    },
  );
}

function checkSearch(settings: Settings): Promise<Check> {
  if (!settings.elasticsearchUrl) return Promise.resolve({ name: 'search', ok: true, detail: 'built-in search (SQL over the delivery log)' });
  return attempt('search', 'check ASYNC_EVENTS_ELASTICSEARCH, or leave it empty to use the built-in search', async () => {
    const response = await request(settings.elasticsearchUrl ?? '', { headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await response.body.text();
    if (response.statusCode >= 400) throw new Error(`Elasticsearch answered ${response.statusCode}: ${text.slice(0, 200)}`);
    return `Elasticsearch at ${settings.elasticsearchUrl} answered ${response.statusCode}`;
  });
}
