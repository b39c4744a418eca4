import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createApp, type App, type AppOptions } from '../app.ts';
import type { HttpServer } from '../api/http-server.ts';
import { apiTokenFile } from '../config/generated-files.ts';
import type { Settings } from '../config/settings.ts';
import { CONSUMERS, isConsumerName, type ConsumerName } from '../delivery/consumers.ts';
import { AsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { boundHeapGrowth } from '../memory.ts';
import { onShutdownSignal } from '../shutdown.ts';
import { fail, serviceLogger, settingsFrom, usage, type Flags } from './common.ts';

/** `start` and `consumer:start`: the long-running commands, with everything wired. */

/**
 * Tuning knobs beyond the contract's settings (README, "Tuning"): consumer prefetch, delivery concurrency and the
 * database queue's polling and lease. Their flags were copied into the environment by the command line.
 */
export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<AppOptions> {
  const int = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) usage(`${name} must be a positive integer, not "${raw}"`);
    return value;
  };
  const prefetch = int('ASYNC_EVENTS_PREFETCH');
  // `unbounded` switches the memory bounds off (the prefetch byte budget, the heap growth limit of memory.ts).
  const prefetchBytes = env.ASYNC_EVENTS_MEMORY === 'unbounded' ? 0 : int('ASYNC_EVENTS_PREFETCH_BYTES');
  const global = int('ASYNC_EVENTS_CONCURRENCY');
  const perSubscription = int('ASYNC_EVENTS_CONCURRENCY_PER_SUBSCRIPTION');
  const pollIntervalMs = int('ASYNC_EVENTS_QUEUE_POLL_MS');
  const leaseSeconds = int('ASYNC_EVENTS_QUEUE_LEASE_SECONDS');
  return {
    ...(prefetch ? { prefetch } : {}),
    ...(prefetchBytes !== undefined ? { prefetchBytes } : {}),
    concurrency: { ...(global ? { global } : {}), ...(perSubscription ? { perSubscription } : {}) },
    databaseQueue: { ...(pollIntervalMs ? { pollIntervalMs } : {}), ...(leaseSeconds ? { leaseSeconds } : {}) },
  };
}

/** The API token of the embedded mode: ASYNC_EVENTS_API_TOKEN, else one generated into the data dir at first start. */
async function ensureApiToken(settings: Settings, logger: Logger): Promise<Settings> {
  if (settings.apiToken) return settings;
  const file = apiTokenFile(settings.dataDir);
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch {
    token = randomBytes(24).toString('base64url');
    await mkdir(settings.dataDir, { recursive: true });
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    // The token goes into its file only: logs are read by many people, the file by its owner.
    logger.info({ file }, 'generated an API token (first start); read it from the file');
  }
  return { ...settings, apiToken: token, origins: { ...settings.origins, apiToken: 'generated' }, originFiles: { ...settings.originFiles, apiToken: file } };
}

/** Runs the HTTP server and the consumers until SIGTERM/SIGINT. */
export async function startServer(settings: Settings, logger: Logger, consumers: readonly ConsumerName[], options: Partial<AppOptions> = {}): Promise<{ app: App; http: HttpServer | undefined; stop: () => Promise<void> }> {
  const heapFlags = boundHeapGrowth();
  if (heapFlags.length > 0) logger.debug({ flags: heapFlags }, 'V8 heap growth bounded');
  const app = await createApp({ settings, logger, ...tuningFromEnv(), ...options });
  // Imported here, not at the top: `consumer:start` serves no HTTP and need not load the API, GraphQL or console.
  const [{ createHttpServer }, { mountGraphqlAndConsole }] = await Promise.all([import('../api/http-server.ts'), import('../api/mount-extras.ts')]);
  let http: HttpServer | undefined;
  let endLiveFeeds = () => {};
  try {
    http = createHttpServer({ deps: app.deps, port: settings.port, host: settings.host, metrics: app.metrics, metricsPublic: settings.metricsPublic });
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

export async function start(flags: Flags): Promise<void> {
  try {
    const logger = serviceLogger();
    const settings = await ensureApiToken(await settingsFrom(flags), logger);
    if (flags.demo) {
      const { runDemo } = await import('../demo.ts');
      await runDemo(settings, logger, startServer);
      return;
    }
    const running = await startServer(settings, logger, Object.keys(CONSUMERS) as ConsumerName[]);
    onShutdownSignal(logger, running.stop, settings.shutdownTimeoutMs);
  } catch (error) {
    fail(error);
  }
}

export async function startConsumer(name: string, flags: Flags): Promise<void> {
  if (!isConsumerName(name)) usage(`unknown consumer "${name}"; use one of: ${Object.keys(CONSUMERS).join(', ')}`);
  try {
    const logger = serviceLogger();
    const settings = await settingsFrom(flags);
    const heapFlags = boundHeapGrowth();
    if (heapFlags.length > 0) logger.debug({ flags: heapFlags }, 'V8 heap growth bounded');
    const app = await createApp({ settings, logger, ...tuningFromEnv() });
    await app.startConsumers([name]);
    onShutdownSignal(logger, () => app.close(), settings.shutdownTimeoutMs);
  } catch (error) {
    fail(error);
  }
}
