import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import { packagePath } from '../package-root.ts';
import type { PayloadFormat } from '../types.ts';
import { readMagentoInstall, type MagentoInstall } from './magento-root.ts';
import { phpPath, type PhpObject, type PhpValue } from './php-array.ts';
import { flagOf, SETTING_VARIABLES } from './setting-variables.ts';

/**
 * Everything the sidecar is configured with, resolved once at start from (highest first) command-line flags,
 * environment variables (`ASYNC_EVENTS_*`), a `.env` file in the working directory, the Magento root's
 * `app/etc/env.php`, and defaults. Live admin values (`system/async_events/*`) are not here: they are read from
 * `core_config_data` while running (see `admin-config.ts`).
 */
export interface Settings {
  /** Absolute path of the Magento install (or the example root). */
  readonly magentoRoot: string;
  /** Base URL for REST callbacks, without `/rest`; undefined when neither the variable nor env.php gives one. */
  readonly magentoUrl: string | undefined;
  readonly magentoToken: string | undefined;
  readonly database: DatabaseSettings;
  /** `db.table_prefix` of env.php; prefixes every table, ours included. */
  readonly tablePrefix: string;
  /** AMQP URL; undefined means the database queue. */
  readonly amqpUrl: string | undefined;
  readonly elasticsearchUrl: string | undefined;
  readonly port: number;
  /** Bind address of the HTTP port; default 127.0.0.1 (README, "Listening"). */
  readonly host: string;
  /** Serve /metrics without the API token. */
  readonly metricsPublic: boolean;
  /** Per-subscription Prometheus series (a `subscription_id` label each); off by default for label cardinality. */
  readonly metricsPerSubscription: boolean;
  readonly apiToken: string | undefined;
  /** Hosts or CIDRs recipients may reach despite the private-address guard. */
  readonly allowedTargets: readonly string[];
  readonly payloadFormat: PayloadFormat;
  /** `crypt/key` of env.php (all key versions, newest last); undefined in embedded mode until the data dir has one. */
  readonly cryptKeys: readonly string[] | undefined;
  /** env.php `system.default` values flattened to `section/group/field` paths; they win over core_config_data. */
  readonly systemOverrides: Readonly<Record<string, string>>;
  /** Where the embedded mode keeps its SQLite file, generated key and API token (default `var/`). */
  readonly dataDir: string;
  readonly http: { readonly connectTimeoutMs: number; readonly totalTimeoutMs: number };
  /** How long SIGTERM/SIGINT lets in-flight work finish before cutting it off and handing its messages back. */
  readonly shutdownTimeoutMs: number;
  /** Where each value came from, for `doctor`. */
  readonly origins: Readonly<Record<string, SettingOrigin>>;
  /** The file behind an origin (`.env`, env.php, config.php, a generated key or token), by the same property names. */
  readonly originFiles: Readonly<Record<string, string>>;
}

export type SettingOrigin = 'flag' | 'env' | 'dotenv' | 'env.php' | 'config.php' | 'default' | 'generated';

export type DatabaseSettings =
  | {
      readonly kind: 'mysql';
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly password: string;
      readonly database: string;
      readonly socketPath?: string;
    }
  | { readonly kind: 'sqlite'; readonly path: string };

// ---------------------------------------------------------------------------------------------------------------
// Loading

const DEFAULT_PORT = 8080;
/**
 * Loopback: the API holds admin power over plain HTTP, so it is reachable from elsewhere only when asked for
 * (a container or a host behind a TLS proxy sets ASYNC_EVENTS_HOST=0.0.0.0).
 */
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_TOTAL_TIMEOUT_MS = 15000;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25000;

export { SETTING_VARIABLES } from './setting-variables.ts';

export type SettingVariable = keyof typeof SETTING_VARIABLES;

/** Settings property → the variable that sets it (`origins` is keyed by property name). */
const PROPERTY_OF: Readonly<Record<SettingVariable, string>> = {
  ASYNC_EVENTS_MAGENTO_ROOT: 'magentoRoot',
  ASYNC_EVENTS_MAGENTO_URL: 'magentoUrl',
  ASYNC_EVENTS_MAGENTO_TOKEN: 'magentoToken',
  ASYNC_EVENTS_DB: 'database',
  ASYNC_EVENTS_AMQP: 'amqpUrl',
  ASYNC_EVENTS_ELASTICSEARCH: 'elasticsearchUrl',
  ASYNC_EVENTS_PORT: 'port',
  ASYNC_EVENTS_HOST: 'host',
  ASYNC_EVENTS_METRICS_PUBLIC: 'metricsPublic',
  ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION: 'metricsPerSubscription',
  ASYNC_EVENTS_API_TOKEN: 'apiToken',
  ASYNC_EVENTS_ALLOWED_TARGETS: 'allowedTargets',
  ASYNC_EVENTS_PAYLOAD_FORMAT: 'payloadFormat',
  ASYNC_EVENTS_DATA_DIR: 'dataDir',
  ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS: 'http.connectTimeoutMs',
  ASYNC_EVENTS_HTTP_TIMEOUT_MS: 'http.totalTimeoutMs',
  ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
};

export interface LoadSettingsOptions {
  /**
   * Command-line values; keys may be the variable name (`ASYNC_EVENTS_PORT`), its kebab form (`port`,
   * `magento-root`) or commander's camelCase (`magentoRoot`). Undefined values are ignored.
   */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Where `.env` is read and relative paths are resolved; default process.cwd(). */
  readonly cwd?: string;
}

interface Found {
  readonly value: string;
  readonly origin: SettingOrigin;
  /** The `.env` file, when it set the value. */
  readonly file?: string;
}

/** `magentoRoot`, `magento-root`, `MAGENTO_ROOT` and `ASYNC_EVENTS_MAGENTO_ROOT` all name the same variable. */
function variableForFlag(key: string): string {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase();
  return snake.startsWith('ASYNC_EVENTS_') ? snake : `ASYNC_EVENTS_${snake}`;
}

function invalid(variable: string, value: string, why: string): AsyncEventsError {
  return new AsyncEventsError('SETTING_INVALID', `${variable}=${JSON.stringify(value)} is invalid: ${why}`, { variable, value, why });
}

/** The same refusal named as the user wrote it: under the flag's name, or with the `.env` file that set it. */
function renamed(error: unknown, found: (variable: string) => Found | undefined): unknown {
  if (!isAsyncEventsError(error, 'SETTING_INVALID')) return error;
  const { variable, value, why } = error.details;
  if (typeof variable !== 'string' || typeof value !== 'string' || typeof why !== 'string') return error;
  const origin = found(variable);
  if (origin?.origin === 'flag') {
    const flag = `--${flagOf(variable)}`;
    return new AsyncEventsError('SETTING_INVALID', `${flag} ${JSON.stringify(value)} is invalid: ${why}`, { ...error.details, flag }, { cause: error });
  }
  if (origin?.origin === 'dotenv' && origin.file) {
    return new AsyncEventsError('SETTING_INVALID', `${error.message} (set in ${origin.file})`, { ...error.details, file: origin.file }, { cause: error });
  }
  return error;
}

function parseInteger(variable: string, value: string, min: number, max: number): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < min || Number(trimmed) > max) {
    throw invalid(variable, value, `expected a whole number from ${min} to ${max}`);
  }
  return Number(trimmed);
}

function parseHost(variable: string, value: string): string {
  const trimmed = value.trim();
  const bare = trimmed.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(bare)) return bare;
  throw invalid(variable, value, 'expected an IP address (127.0.0.1, 0.0.0.0, ::) or a host name');
}

function parseFlag(variable: string, value: string): boolean {
  const trimmed = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(trimmed)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(trimmed)) return false;
  throw invalid(variable, value, 'expected 1 or 0');
}

function parseHttpUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid(variable, value, 'expected an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(variable, value, 'expected an http:// or https:// URL');
  return value.trim().replace(/\/+$/, '');
}

function parseDatabase(variable: string, value: string, cwd: string): DatabaseSettings {
  const text = value.trim();
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length);
    if (file === '') throw invalid(variable, value, 'sqlite: needs a file path, e.g. sqlite:var/async-events.sqlite');
    return { kind: 'sqlite', path: file === ':memory:' ? file : path.resolve(cwd, file) };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(variable, value, 'expected mysql://user:pass@host:port/db or sqlite:PATH');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw invalid(variable, value, 'expected mysql://user:pass@host:port/db or sqlite:PATH');
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw invalid(variable, value, 'the URL must name one database, e.g. mysql://user:pass@127.0.0.1:3306/magento');
  const socketPath = url.searchParams.get('socket') ?? undefined;
  return {
    kind: 'mysql',
    host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: url.port === '' ? 3306 : parseInteger(variable, url.port, 1, 65535),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    ...(socketPath ? { socketPath } : {}),
  };
}

function parseAmqp(variable: string, value: string): string | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(variable, value, 'expected amqp://user:pass@host:port/vhost (or empty for the database queue)');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw invalid(variable, value, 'expected amqp:// or amqps:// (or empty for the database queue)');
  }
  return text;
}

function parseTargets(variable: string, value: string): string[] {
  const targets = value
    .split(',')
    .map((target) => target.trim())
    .filter((target) => target !== '');
  for (const target of targets) {
    const [address = '', prefix, extra] = target.split('/');
    const family = isIP(address);
    const validHost = family !== 0 || /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(address);
    const validPrefix = prefix === undefined || (family !== 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
    if (!validHost || !validPrefix || extra !== undefined) throw invalid(variable, value, `'${target}' is neither a host name nor an IP address or CIDR (e.g. 127.0.0.1/32)`);
  }
  return targets;
}

function parsePayloadFormat(variable: string, value: string): PayloadFormat {
  const format = value.trim().toLowerCase();
  if (format === 'cloudevents' || format === 'legacy') return format;
  throw invalid(variable, value, "expected 'cloudevents' (upstream 4.x) or 'legacy' (upstream 3.x)");
}

function stringAt(value: PhpValue | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** env.php `db.connection.default`; `host` may be `host:port` or a socket path, as Magento's PDO adapter reads it. */
function databaseFromEnvPhp(connection: PhpObject): DatabaseSettings {
  const hostValue = stringAt(connection.host) ?? 'localhost';
  let host = hostValue;
  let port = Number(stringAt(connection.port) ?? 3306) || 3306;
  let socketPath: string | undefined;
  if (hostValue.includes('/')) {
    socketPath = hostValue;
    host = 'localhost';
  } else if (hostValue.includes(':')) {
    const [name = 'localhost', portText = ''] = hostValue.split(':');
    host = name;
    if (/^\d+$/.test(portText)) port = Number(portText);
  }
  return {
    kind: 'mysql',
    host,
    port,
    user: stringAt(connection.username) ?? '',
    password: stringAt(connection.password) ?? '',
    database: stringAt(connection.dbname) ?? '',
    ...(socketPath ? { socketPath } : {}),
  };
}

/** env.php `queue.amqp` as a URL; undefined when AMQP is not configured or `default_connection` is `db`. */
function amqpFromEnvPhp(env: PhpObject | undefined, amqp: PhpObject | undefined): string | undefined {
  const host = stringAt(amqp?.host);
  if (!amqp || !host) return undefined;
  if (stringAt(phpPath(env, ['queue', 'default_connection'])) === 'db') return undefined;
  const secure = String(stringAt(amqp.ssl) ?? '').trim() === 'true';
  const port = stringAt(amqp.port) ?? '5672';
  const user = encodeURIComponent(stringAt(amqp.user) ?? 'guest');
  const password = encodeURIComponent(stringAt(amqp.password) ?? 'guest');
  const vhost = encodeURIComponent(stringAt(amqp.virtualhost) ?? '/');
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${secure ? 'amqps' : 'amqp'}://${user}:${password}@${hostPart}:${port}/${vhost}`;
}

/** The base URL env.php pins (secure first), without the trailing slash. */
function magentoUrlFromOverrides(overrides: Readonly<Record<string, string>>): { readonly url: string; readonly path: string } | undefined {
  for (const key of ['web/secure/base_url', 'web/unsecure/base_url']) {
    const value = overrides[key];
    if (value && /^https?:\/\//.test(value)) return { url: value.replace(/\/+$/, ''), path: key };
  }
  return undefined;
}

async function readDotEnv(cwd: string): Promise<{ readonly file: string; readonly values: Record<string, string> }> {
  const file = path.join(cwd, '.env');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { file, values: {} };
  }
  return { file, values: parseDotEnv(text) };
}

/**
 * `.env` lines: `KEY=value`, optional `export `, `#` comments, values in single quotes (verbatim) or double quotes
 * (`\n` escapes); an unquoted value ends at ` #`. Later lines win, as with dotenv and Node's --env-file.
 */
export function parseDotEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(rawLine);
    if (!match?.[1]) continue;
    const rest = match[2] ?? '';
    const quoted = /^(['"])(.*)\1\s*(?:#.*)?$/.exec(rest);
    if (quoted) {
      const inner = quoted[2] ?? '';
      values[match[1]] = quoted[1] === '"' ? inner.replace(/\\n/g, '\n').replace(/\\"/g, '"') : inner;
    } else {
      values[match[1]] = rest.replace(/\s+#.*$/, '').trim();
    }
  }
  return values;
}

async function defaultMagentoRoot(cwd: string): Promise<string> {
  const local = path.resolve(cwd, 'examples/magento');
  try {
    if ((await stat(local)).isDirectory()) return local;
  } catch {
    // fall through to the copy shipped with the package
  }
  return packagePath('examples', 'magento');
}

/**
 * Resolves the settings: flags > environment > `.env` in cwd > the Magento root's env.php > defaults.
 * A Magento root that does not exist is not an error here (commands that need it say so); an env.php that
 * cannot be read is. Invalid values throw SETTING_INVALID naming the variable and the value.
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<Settings> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const dotEnv = await readDotEnv(cwd);
  const flags: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.flags ?? {})) if (value !== undefined) flags[variableForFlag(key)] = value;

  const find = (variable: string): Found | undefined => {
    const flag = flags[variable];
    if (flag !== undefined) return { value: flag, origin: 'flag' };
    const fromEnv = env[variable];
    if (fromEnv !== undefined) return { value: fromEnv, origin: 'env' };
    const fromDotEnv = dotEnv.values[variable];
    if (fromDotEnv !== undefined) return { value: fromDotEnv, origin: 'dotenv', file: dotEnv.file };
    return undefined;
  };
  try {
    return await resolveSettings(cwd, find);
  } catch (error) {
    throw renamed(error, find);
  }
}

async function resolveSettings(cwd: string, lookup: (variable: SettingVariable) => Found | undefined): Promise<Settings> {
  const origins: Record<string, SettingOrigin> = {};
  const originFiles: Record<string, string> = {};
  const note = (variable: SettingVariable, origin: SettingOrigin, file?: string): void => {
    origins[PROPERTY_OF[variable]] = origin;
    if (file !== undefined) originFiles[PROPERTY_OF[variable]] = file;
  };
  const noteFound = (variable: SettingVariable, found: Found): void => note(variable, found.origin, found.file);

  const rootSetting = lookup('ASYNC_EVENTS_MAGENTO_ROOT');
  const magentoRoot = rootSetting && rootSetting.value.trim() !== '' ? path.resolve(cwd, rootSetting.value.trim()) : await defaultMagentoRoot(cwd);
  if (rootSetting && rootSetting.value.trim() !== '') noteFound('ASYNC_EVENTS_MAGENTO_ROOT', rootSetting);
  else note('ASYNC_EVENTS_MAGENTO_ROOT', 'default');

  let install: MagentoInstall | undefined;
  try {
    install = await readMagentoInstall(magentoRoot);
  } catch (thrown) {
    if (!isAsyncEventsError(thrown, 'MAGENTO_ROOT_MISSING')) throw thrown;
  }

  const dataDirSetting = lookup('ASYNC_EVENTS_DATA_DIR');
  const dataDir = path.resolve(cwd, dataDirSetting?.value.trim() || 'var');
  if (dataDirSetting?.value.trim()) noteFound('ASYNC_EVENTS_DATA_DIR', dataDirSetting);
  else note('ASYNC_EVENTS_DATA_DIR', 'default');

  const dbSetting = lookup('ASYNC_EVENTS_DB');
  let database: DatabaseSettings;
  if (dbSetting && dbSetting.value.trim() !== '') {
    database = parseDatabase('ASYNC_EVENTS_DB', dbSetting.value, cwd);
    noteFound('ASYNC_EVENTS_DB', dbSetting);
  } else if (install?.dbConnection) {
    database = databaseFromEnvPhp(install.dbConnection);
    note('ASYNC_EVENTS_DB', 'env.php', install.files.env);
  } else {
    database = { kind: 'sqlite', path: path.join(dataDir, 'async-events.sqlite') };
    note('ASYNC_EVENTS_DB', 'default');
  }

  const amqpSetting = lookup('ASYNC_EVENTS_AMQP');
  let amqpUrl: string | undefined;
  if (amqpSetting) {
    amqpUrl = parseAmqp('ASYNC_EVENTS_AMQP', amqpSetting.value);
    noteFound('ASYNC_EVENTS_AMQP', amqpSetting);
  } else {
    amqpUrl = amqpFromEnvPhp(install?.env, install?.amqp);
    if (amqpUrl !== undefined) note('ASYNC_EVENTS_AMQP', 'env.php', install?.files.env);
    else note('ASYNC_EVENTS_AMQP', 'default');
  }

  const systemOverrides = install?.systemOverrides ?? {};
  const urlSetting = lookup('ASYNC_EVENTS_MAGENTO_URL');
  let magentoUrl: string | undefined;
  if (urlSetting && urlSetting.value.trim() !== '') {
    magentoUrl = parseHttpUrl('ASYNC_EVENTS_MAGENTO_URL', urlSetting.value);
    noteFound('ASYNC_EVENTS_MAGENTO_URL', urlSetting);
  } else {
    const fromOverrides = magentoUrlFromOverrides(systemOverrides);
    magentoUrl = fromOverrides?.url;
    const file = fromOverrides ? install?.systemOverrideFiles[fromOverrides.path] : undefined;
    if (file !== undefined) note('ASYNC_EVENTS_MAGENTO_URL', file === install?.files.env ? 'env.php' : 'config.php', file);
    else note('ASYNC_EVENTS_MAGENTO_URL', 'default');
  }

  const optional = (variable: SettingVariable, parse: (value: string) => string | undefined = (value) => value.trim() || undefined): string | undefined => {
    const found = lookup(variable);
    if (found) noteFound(variable, found);
    else note(variable, 'default');
    return found ? parse(found.value) : undefined;
  };
  const magentoToken = optional('ASYNC_EVENTS_MAGENTO_TOKEN');
  const apiToken = optional('ASYNC_EVENTS_API_TOKEN');
  const elasticsearchUrl = optional('ASYNC_EVENTS_ELASTICSEARCH', (value) => (value.trim() === '' ? undefined : parseHttpUrl('ASYNC_EVENTS_ELASTICSEARCH', value)));

  const withDefault = <T>(variable: SettingVariable, parse: (value: string) => T, fallback: T): T => {
    const found = lookup(variable);
    if (found) noteFound(variable, found);
    else note(variable, 'default');
    return found ? parse(found.value) : fallback;
  };
  const port = withDefault('ASYNC_EVENTS_PORT', (value) => parseInteger('ASYNC_EVENTS_PORT', value, 0, 65535), DEFAULT_PORT);
  const host = withDefault('ASYNC_EVENTS_HOST', (value) => parseHost('ASYNC_EVENTS_HOST', value), DEFAULT_HOST);
  const metricsPublic = withDefault('ASYNC_EVENTS_METRICS_PUBLIC', (value) => parseFlag('ASYNC_EVENTS_METRICS_PUBLIC', value), false);
  const metricsPerSubscription = withDefault('ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION', (value) => parseFlag('ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION', value), false);
  const allowedTargets = withDefault('ASYNC_EVENTS_ALLOWED_TARGETS', (value) => parseTargets('ASYNC_EVENTS_ALLOWED_TARGETS', value), [] as string[]);
  const payloadFormat = withDefault('ASYNC_EVENTS_PAYLOAD_FORMAT', (value) => parsePayloadFormat('ASYNC_EVENTS_PAYLOAD_FORMAT', value), 'cloudevents' as PayloadFormat);
  const connectTimeoutMs = withDefault(
    'ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS',
    (value) => parseInteger('ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS', value, 1, 600_000),
    DEFAULT_CONNECT_TIMEOUT_MS,
  );
  const totalTimeoutMs = withDefault('ASYNC_EVENTS_HTTP_TIMEOUT_MS', (value) => parseInteger('ASYNC_EVENTS_HTTP_TIMEOUT_MS', value, 1, 3_600_000), DEFAULT_TOTAL_TIMEOUT_MS);
  const shutdownTimeoutMs = withDefault(
    'ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS',
    (value) => parseInteger('ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS', value, 0, 3_600_000),
    DEFAULT_SHUTDOWN_TIMEOUT_MS,
  );

  const envFile = install?.files.env;
  origins.tablePrefix = envFile !== undefined && install?.tablePrefix ? 'env.php' : 'default';
  origins.cryptKeys = envFile !== undefined && install && install.cryptKeys.length > 0 ? 'env.php' : 'default';
  if (envFile !== undefined && origins.tablePrefix === 'env.php') originFiles.tablePrefix = envFile;
  if (envFile !== undefined && origins.cryptKeys === 'env.php') originFiles.cryptKeys = envFile;
  // system.default comes from config.php, env.php or both (env.php winning path by path).
  const overrideFiles = [...new Set(Object.values(install?.systemOverrideFiles ?? {}))].sort();
  origins.systemOverrides = overrideFiles.length === 0 ? 'default' : overrideFiles.includes(envFile ?? '') ? 'env.php' : 'config.php';
  if (overrideFiles.length > 0) originFiles.systemOverrides = overrideFiles.join(' + ');

  return {
    magentoRoot,
    magentoUrl,
    magentoToken,
    database,
    tablePrefix: install?.tablePrefix ?? '',
    amqpUrl,
    elasticsearchUrl,
    port,
    host,
    metricsPublic,
    metricsPerSubscription,
    apiToken,
    allowedTargets,
    payloadFormat,
    cryptKeys: install && install.cryptKeys.length > 0 ? install.cryptKeys : undefined,
    systemOverrides,
    dataDir,
    http: { connectTimeoutMs, totalTimeoutMs },
    shutdownTimeoutMs,
    origins,
    originFiles,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Describing (doctor)

export interface SettingRow {
  /** Variable name, or the env.php key for values only env.php gives. */
  readonly name: string;
  readonly description: string;
  /** Display value, secrets masked; `(not set)` when undefined. */
  readonly value: string;
  readonly origin: SettingOrigin;
  /** The file behind the origin (a `.env`, env.php or config.php read, a generated key or token), when there is one. */
  readonly file?: string;
}

const MASK = '****';

function maskUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = MASK;
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url;
  }
}

function describeDatabase(database: DatabaseSettings): string {
  if (database.kind === 'sqlite') return `sqlite:${database.path}`;
  const credentials = `${encodeURIComponent(database.user)}${database.password !== '' ? `:${MASK}` : ''}@`;
  const socket = database.socketPath ? `?socket=${database.socketPath}` : '';
  return `mysql://${credentials}${database.host}:${database.port}/${database.database}${socket}`;
}

function secret(value: string | undefined): string {
  if (value === undefined) return '(not set)';
  return value.length <= 8 ? MASK : `${value.slice(0, 4)}${MASK}`;
}

/** One row per setting for `doctor` and the README's table, secrets masked. */
export function describeSettings(settings: Settings): SettingRow[] {
  const originOf = (property: string): { origin: SettingOrigin; file?: string } => {
    const file = settings.originFiles[property];
    return { origin: settings.origins[property] ?? 'default', ...(file !== undefined ? { file } : {}) };
  };
  const row = (variable: SettingVariable, value: string | undefined): SettingRow => ({
    name: variable,
    description: SETTING_VARIABLES[variable],
    value: value ?? '(not set)',
    ...originOf(PROPERTY_OF[variable]),
  });
  return [
    row('ASYNC_EVENTS_MAGENTO_ROOT', settings.magentoRoot),
    row('ASYNC_EVENTS_MAGENTO_URL', settings.magentoUrl),
    row('ASYNC_EVENTS_MAGENTO_TOKEN', settings.magentoToken === undefined ? undefined : secret(settings.magentoToken)),
    row('ASYNC_EVENTS_DB', describeDatabase(settings.database)),
    row('ASYNC_EVENTS_AMQP', settings.amqpUrl === undefined ? '(database queue)' : maskUrlPassword(settings.amqpUrl)),
    row('ASYNC_EVENTS_ELASTICSEARCH', settings.elasticsearchUrl === undefined ? '(built-in search)' : maskUrlPassword(settings.elasticsearchUrl)),
    row('ASYNC_EVENTS_PORT', String(settings.port)),
    row('ASYNC_EVENTS_HOST', settings.host),
    row('ASYNC_EVENTS_METRICS_PUBLIC', settings.metricsPublic ? '1 (no token needed)' : '0 (API token needed)'),
    row('ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION', settings.metricsPerSubscription ? '1' : '0'),
    row('ASYNC_EVENTS_API_TOKEN', settings.apiToken === undefined ? undefined : secret(settings.apiToken)),
    row('ASYNC_EVENTS_ALLOWED_TARGETS', settings.allowedTargets.length > 0 ? settings.allowedTargets.join(',') : undefined),
    row('ASYNC_EVENTS_PAYLOAD_FORMAT', settings.payloadFormat),
    row('ASYNC_EVENTS_DATA_DIR', settings.dataDir),
    row('ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS', String(settings.http.connectTimeoutMs)),
    row('ASYNC_EVENTS_HTTP_TIMEOUT_MS', String(settings.http.totalTimeoutMs)),
    row('ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS', String(settings.shutdownTimeoutMs)),
    { name: 'db.table_prefix', description: 'prefix of every table (env.php)', value: settings.tablePrefix === '' ? '(none)' : settings.tablePrefix, ...originOf('tablePrefix') },
    {
      name: 'crypt/key',
      description: 'encryption keys of verification tokens (env.php)',
      value: settings.cryptKeys === undefined ? '(not set)' : `${settings.cryptKeys.length} key(s), ${MASK}`,
      ...originOf('cryptKeys'),
    },
    {
      name: 'system.default',
      description: 'config values env.php/config.php pin over core_config_data',
      value: `${Object.keys(settings.systemOverrides).length} path(s)`,
      ...originOf('systemOverrides'),
    },
  ];
}
