import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createApp, loadRoutes, type App, type AppOptions } from './app.ts';
import { searchHitCsvRow } from './api/csv.ts';
import { createHttpServer, type HttpServer } from './api/http-server.ts';
import { mountGraphqlAndConsole } from './api/mount-extras.ts';
import { runGenerate } from './bridge/generate-command.ts';
import { serviceKey } from './bridge/routes.ts';
import { formatConfigError } from './config/config-error.ts';
import { readMagentoInstall } from './config/magento-root.ts';
import { loadEventRegistry } from './config/registry.ts';
import { loadSettings, SETTING_VARIABLES, type Settings } from './config/settings.ts';
import { runValidate } from './config/validate-command.ts';
import { isConsumerName, CONSUMERS, type ConsumerName } from './delivery/consumers.ts';
import { runDemo } from './demo.ts';
import { runDoctor } from './doctor.ts';
import { AsyncEventsError, coerceError, isAsyncEventsError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { onShutdownSignal } from './shutdown.ts';
import { ensureEmbeddedCryptKey } from './store/crypt-key.ts';
import { createStore } from './store/index.ts';

/*
 * `async-events`: every command builds the settings the same way (flags > environment > .env > env.php >
 * defaults), then the parts of the app it needs. Exit codes: 0 done, 1 failed or invalid, 2 unusable arguments.
 */

type Flags = Record<string, string | undefined>;

/** Every setting variable is also a flag: ASYNC_EVENTS_MAGENTO_ROOT → --magento-root. */
function addSettingFlags(command: Command): Command {
  for (const [variable, description] of Object.entries(SETTING_VARIABLES)) {
    const flag = variable.replace(/^ASYNC_EVENTS_/, '').toLowerCase().replaceAll('_', '-');
    command.addOption(new Option(`--${flag} <value>`, `${description} (${variable})`));
  }
  return command;
}

async function settingsFrom(flags: Flags): Promise<Settings> {
  return loadSettings({ flags });
}

function cliLogger(): Logger {
  return createLogger({ pretty: process.stdout.isTTY === true && process.env.ASYNC_EVENTS_LOG_FORMAT !== 'json' });
}

async function withApp<T>(flags: Flags, run: (app: App) => Promise<T>, options: Partial<AppOptions> = {}): Promise<T> {
  const settings = await settingsFrom(flags);
  const app = await createApp({ settings, logger: options.logger ?? createLogger({ level: process.env.ASYNC_EVENTS_LOG_LEVEL ?? 'warn' }), ...options });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/**
 * Tuning knobs beyond the contract's settings (README, "Tuning"): consumer prefetch, delivery concurrency and the
 * database queue's polling and lease.
 */
export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<AppOptions> {
  const int = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`error: ${name} must be a positive integer, not "${raw}"`);
      process.exit(2);
    }
    return value;
  };
  const prefetch = int('ASYNC_EVENTS_PREFETCH');
  const global = int('ASYNC_EVENTS_CONCURRENCY');
  const perSubscription = int('ASYNC_EVENTS_CONCURRENCY_PER_SUBSCRIPTION');
  const pollIntervalMs = int('ASYNC_EVENTS_QUEUE_POLL_MS');
  const leaseSeconds = int('ASYNC_EVENTS_QUEUE_LEASE_SECONDS');
  return {
    ...(prefetch ? { prefetch } : {}),
    concurrency: { ...(global ? { global } : {}), ...(perSubscription ? { perSubscription } : {}) },
    databaseQueue: { ...(pollIntervalMs ? { pollIntervalMs } : {}), ...(leaseSeconds ? { leaseSeconds } : {}) },
  };
}

/** The API token of the embedded mode: ASYNC_EVENTS_API_TOKEN, else one generated into the data dir at first start. */
async function ensureApiToken(settings: Settings, logger: Logger): Promise<Settings> {
  if (settings.apiToken) return settings;
  const file = path.join(settings.dataDir, 'api-token');
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch {
    token = randomBytes(24).toString('base64url');
    await mkdir(settings.dataDir, { recursive: true });
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    logger.info({ file }, `generated an API token (first start): ${token}`);
  }
  return { ...settings, apiToken: token, origins: { ...settings.origins, apiToken: 'generated' } };
}

/** Runs the HTTP server and the consumers until SIGTERM/SIGINT. */
export async function startServer(settings: Settings, logger: Logger, consumers: readonly ConsumerName[], options: Partial<AppOptions> = {}): Promise<{ app: App; http: HttpServer | undefined; stop: () => Promise<void> }> {
  const app = await createApp({ settings, logger, ...tuningFromEnv(), ...options });
  let http: HttpServer | undefined;
  let endLiveFeeds = () => {};
  try {
    http = createHttpServer({ deps: app.deps, port: settings.port, metrics: app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(app.deps, http);
    await http.listen().catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new AsyncEventsError('SETTING_INVALID', `port ${settings.port} is already in use (another async-events?): stop it or set ASYNC_EVENTS_PORT / --port`, { port: settings.port });
      }
      throw error;
    });
    await app.startConsumers(consumers);
  } catch (error) {
    await http?.close();
    await app.close();
    throw error;
  }
  logger.info({ url: http.url, queue: app.transport.kind, database: app.store.dialect, events: app.events().size }, 'async-events started');
  const stop = async () => {
    // Stop taking requests and messages first, let in-flight deliveries finish until the shutdown deadline, then close connections.
    const deadline = Date.now() + settings.shutdownTimeoutMs;
    endLiveFeeds();
    await http?.close();
    await app.close(deadline);
  };
  return { app, http, stop };
}

function fail(error: unknown): never {
  const err = coerceError(error);
  console.error(isAsyncEventsError(err) ? `error [${err.code}]: ${err.message}` : `error: ${err.stack ?? err.message}`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('async-events')
    .description('Reliable asynchronous event delivery for Magento 2: a drop-in sidecar for Mage-OS Async Events')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 1 && err.code !== 'commander.helpDisplayed' ? 2 : err.exitCode));

  addSettingFlags(
    program
      .command('start')
      .description('run REST + GraphQL + web console + both consumers in one process')
      .option('--demo', 'also start a Magento stand-in and a local receiver, publish an example order and show its trace'),
  ).action(async (flags: Flags & { demo?: boolean }) => {
    const logger = cliLogger();
    try {
      let settings = await ensureApiToken(await settingsFrom(flags), logger);
      if (flags.demo) {
        await runDemo(settings, logger, startServer);
        return;
      }
      const running = await startServer(settings, logger, Object.keys(CONSUMERS) as ConsumerName[]);
      settings = running.app.settings;
      onShutdownSignal(logger, running.stop, settings.shutdownTimeoutMs);
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(
    program
      .command('consumer:start')
      .description('run one consumer alone: event.trigger.consumer or event.retry.consumer')
      .argument('<consumer>', 'event.trigger.consumer | event.retry.consumer'),
  ).action(async (name: string, flags: Flags) => {
    if (!isConsumerName(name)) {
      console.error(`error: unknown consumer "${name}"; use one of: ${Object.keys(CONSUMERS).join(', ')}`);
      process.exit(2);
    }
    const logger = cliLogger();
    try {
      const settings = await settingsFrom(flags);
      const app = await createApp({ settings, logger, ...tuningFromEnv() });
      await app.startConsumers([name]);
      onShutdownSignal(logger, () => app.close(), settings.shutdownTimeoutMs);
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(program.command('validate').description('find and validate every etc/async_events.xml of the enabled modules')).action(async (flags: Flags) => {
    const settings = await settingsFrom(flags).catch(fail);
    const code = await runValidate(settings.magentoRoot, { log: (l) => console.log(l), error: (l) => console.error(l) });
    process.exit(code);
  });

  addSettingFlags(
    program
      .command('generate')
      .description('write the PHP bridge module (MageOS_AsyncEvents) for the configured Magento root')
      .requiredOption('--out <dir>', 'where to write the module, e.g. app/code/MageOS/AsyncEvents')
      .option('--console-url <url>', 'URL of this sidecar console, for the admin menu entry'),
  ).action(async (flags: Flags & { out: string; consoleUrl?: string }) => {
    try {
      // Only the Magento root is read: generating touches no database or queue.
      const settings = await settingsFrom(flags);
      const install = await readMagentoInstall(settings.magentoRoot);
      const config = await loadEventRegistry(install, createLogger({ level: 'warn' }));
      if (config.errors.length > 0) {
        for (const error of config.errors) console.error(formatConfigError(error));
        console.error('fix the async_events.xml errors above (`async-events validate`), then generate again');
        process.exit(1);
      }
      const routes = await loadRoutes(config.modules, config.registry);
      const routed = new Set(routes.all().filter((r) => r.module !== 'MageOS_AsyncEvents').map((r) => serviceKey(r.serviceClass, r.serviceMethod)));
      await runGenerate(
        { events: config.registry, routedServices: routed, outDir: path.resolve(flags.out), ...(flags.consoleUrl ? { consoleUrl: flags.consoleUrl } : {}) },
        { log: (l) => console.log(l) },
      );
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(program.command('migrate').description('create or upgrade the tables in the configured database (never drops data)')).action(async (flags: Flags) => {
    try {
      const settings = await settingsFrom(flags);
      const cryptKeys = settings.cryptKeys && settings.cryptKeys.length > 0 ? settings.cryptKeys : [await ensureEmbeddedCryptKey(settings.dataDir)];
      const store = await createStore({ database: settings.database, tablePrefix: settings.tablePrefix, cryptKeys, logger: createLogger({ level: 'warn' }) });
      try {
        const report = await store.migrate();
        for (const t of report.created) console.log(`created ${t}`);
        for (const t of report.altered) console.log(`altered ${t}`);
        for (const t of report.unchanged) console.log(`unchanged ${t}`);
      } finally {
        await store.close();
      }
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(
    program
      .command('publish')
      .description('publish a trigger message exactly as the PHP AsyncEventPublisher would')
      .argument('<event>', 'event name, e.g. sales.order.created')
      .argument('<json>', "the service arguments as a JSON object, e.g. '{\"id\":42}'")
      .option('--store-id <id>', 'store id of the event', '0'),
  ).action(async (event: string, json: string, flags: Flags & { storeId: string }) => {
    let args: unknown;
    try {
      args = JSON.parse(json);
    } catch (error) {
      console.error(`error: the arguments are not valid JSON: ${coerceError(error).message}`);
      process.exit(2);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      console.error('error: the arguments must be a JSON object of named service arguments, e.g. \'{"id":42}\'');
      process.exit(2);
    }
    try {
      await withApp(flags, async (app) => {
        if (!app.events().has(event)) console.error(`warning: no enabled module declares "${event}"; the consumer will park the message`);
        await app.publish(event, args as Record<string, unknown>, flags.storeId);
        console.log(`published ${event} to ${app.transport.kind === 'amqp' ? 'RabbitMQ' : 'the database queue'}`);
      });
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(
    program
      .command('replay')
      .description('replay one delivery (a new chain under the same UUID), or every delivery a Lucene query matches')
      .argument('[uuid]', 'UUID of the delivery')
      .option('--query <lucene>', 'replay every chain this query matches'),
  ).action(async (uuid: string | undefined, flags: Flags & { query?: string }) => {
    if (!uuid && !flags.query) {
      console.error('error: give a UUID or --query');
      process.exit(2);
    }
    try {
      await withApp(flags, async (app) => {
        const uuids = new Set<string>(uuid ? [uuid] : []);
        if (flags.query !== undefined) {
          for (let from = 0; ; from += 500) {
            const page = await app.deps.search(flags.query, { size: 500, from });
            for (const hit of page.hits) uuids.add(hit.uuid);
            if (page.hits.length < 500) break;
          }
        }
        let failed = 0;
        for (const id of uuids) {
          try {
            await app.deps.replay(id);
            const chain = await app.store.log.chain(id);
            console.log(`${id} ${chain?.status ?? 'replayed'}`);
          } catch (error) {
            failed++;
            console.error(`${id} not replayed: ${coerceError(error).message}`);
          }
        }
        console.log(`${uuids.size - failed} replayed, ${failed} failed`);
        if (failed > 0) process.exitCode = 1;
      });
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(
    program
      .command('search')
      .description('search the delivery log with Lucene syntax')
      .argument('<query>', "e.g. 'event_name: sales.* AND success: false'")
      .option('--csv', 'print every match as CSV (log_id, uuid, event_name, success, created, subscription_id, recipient_url, response_data)')
      .option('--limit <n>', 'rows to print without --csv', '20'),
  ).action(async (query: string, flags: Flags & { csv?: boolean; limit: string }) => {
    try {
      await withApp(flags, async (app) => {
        if (flags.csv) {
          process.stdout.write('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data\r\n');
          for (let from = 0; ; from += 500) {
            const page = await app.deps.search(query, { size: 500, from });
            for (const hit of page.hits) process.stdout.write(searchHitCsvRow(hit));
            if (page.hits.length < 500) break;
          }
          return;
        }
        const page = await app.deps.search(query, { size: Math.min(1000, Math.max(1, Number(flags.limit) || 20)), from: 0 });
        for (const hit of page.hits) {
          console.log(`${hit.logId}\t${hit.created.toISOString()}\t${hit.success ? 'success' : 'failed '}\t${hit.uuid}\t${hit.eventName}\t${hit.recipientUrl}`);
        }
        console.log(`${page.hits.length} of ${page.total} match(es)`);
      });
    } catch (error) {
      if (isAsyncEventsError(error, 'QUERY_SYNTAX')) {
        const position = Number(error.details.position ?? 0);
        console.error(`${query}\n${' '.repeat(Math.max(0, position - 1))}^\nerror: ${error.message}`);
        process.exit(1);
      }
      fail(error);
    }
  });

  addSettingFlags(program.command('reindex').description('rebuild the Elasticsearch index from the delivery log')).action(async (flags: Flags) => {
    try {
      await withApp(flags, async (app) => {
        if (!app.search.reindex) {
          console.log('built-in search reads the log directly: there is no index to rebuild (set ASYNC_EVENTS_ELASTICSEARCH to use Elasticsearch)');
          return;
        }
        const total = await app.store.log.count();
        const started = Date.now();
        const bar = (done: number) => {
          const filled = total === 0 ? 30 : Math.min(30, Math.round((done / total) * 30));
          process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${done}/${total} log rows`);
        };
        bar(0);
        const report = await app.search.reindex(bar);
        process.stderr.write('\n');
        console.log(`reindexed ${report.indexed} log rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      });
    } catch (error) {
      fail(error);
    }
  });

  addSettingFlags(program.command('doctor').description('check every configured part and say what is wrong and how to fix it')).action(async (flags: Flags) => {
    const code = await runDoctor(flags, { log: (l) => console.log(l) });
    process.exit(code);
  });

  await program.parseAsync(argv);
}
