import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AsyncEventsError } from '../errors.ts';
import { isPhpObject, phpPath, readPhpArrayFile, type PhpObject, type PhpValue } from './php-array.ts';

/**
 * What the sidecar needs from a Magento install's `app/etc`: which modules are enabled (in config.php order),
 * and from env.php the database, queue, table prefix, encryption keys and `system` overrides.
 */
export interface MagentoInstall {
  /** Absolute path of the Magento root. */
  readonly root: string;
  /** Module name → enabled, in `app/etc/config.php` order. */
  readonly modules: ReadonlyMap<string, boolean>;
  /** Parsed `app/etc/env.php`, or undefined when the file does not exist. */
  readonly env: PhpObject | undefined;
  readonly tablePrefix: string;
  /** `crypt/key` split on whitespace: every key version, newest last; empty without env.php. */
  readonly cryptKeys: readonly string[];
  /** `db.connection.default` of env.php. */
  readonly dbConnection: PhpObject | undefined;
  /** `queue.amqp` of env.php. */
  readonly amqp: PhpObject | undefined;
  /** `system.default` of env.php and config.php flattened to `section/group/field`; env.php wins. */
  readonly systemOverrides: Readonly<Record<string, string>>;
  /** The files read: config.php always, env.php when it exists (what `doctor` names as origins). */
  readonly files: { readonly config: string; readonly env: string | undefined };
  /** Which file each `systemOverrides` path came from (absolute path of config.php or env.php). */
  readonly systemOverrideFiles: Readonly<Record<string, string>>;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Magento's config.php stores 1/0; older dumps may hold true/false or "1". */
function isEnabledFlag(value: PhpValue): boolean {
  return value === true || value === 1 || value === '1';
}

function scalarToConfigString(value: PhpValue): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return undefined;
}

/** `['web' => ['unsecure' => ['base_url' => 'x']]]` → `{ 'web/unsecure/base_url': 'x' }`, any depth. */
export function flattenSystemSection(value: PhpValue | undefined, prefix = '', into: Record<string, string> = {}): Record<string, string> {
  if (!isPhpObject(value) && !Array.isArray(value)) return into;
  for (const [key, child] of Object.entries(value)) {
    const childPath = prefix === '' ? key : `${prefix}/${key}`;
    if (typeof child === 'object' && child !== null) {
      flattenSystemSection(child, childPath, into);
    } else {
      const text = scalarToConfigString(child);
      if (text !== undefined) into[childPath] = text;
    }
  }
  return into;
}

function objectAt(value: PhpValue | undefined, keys: readonly string[]): PhpObject | undefined {
  const found = phpPath(value, keys);
  return isPhpObject(found) ? found : undefined;
}

/**
 * Reads `app/etc/config.php` (required) and `app/etc/env.php` (optional) of a Magento root.
 * Throws MAGENTO_ROOT_MISSING when the root or config.php is missing, CONFIG_INVALID when a file cannot be read
 * as a literal PHP array.
 */
export async function readMagentoInstall(root: string): Promise<MagentoInstall> {
  const absoluteRoot = path.resolve(root);
  if (!(await isDirectory(absoluteRoot))) {
    throw new AsyncEventsError('MAGENTO_ROOT_MISSING', `Magento root ${absoluteRoot} does not exist or is not a directory (set ASYNC_EVENTS_MAGENTO_ROOT)`, {
      root: absoluteRoot,
    });
  }
  const configFile = path.join(absoluteRoot, 'app/etc/config.php');
  if (!(await isFile(configFile))) {
    throw new AsyncEventsError(
      'MAGENTO_ROOT_MISSING',
      `${configFile} not found: ${absoluteRoot} is not a Magento root (set ASYNC_EVENTS_MAGENTO_ROOT to the directory holding app/etc/config.php)`,
      { root: absoluteRoot, file: configFile },
    );
  }
  const config = await readPhpArrayFile(configFile, 'app/etc/config.php');
  if (!isPhpObject(config)) {
    throw new AsyncEventsError('CONFIG_INVALID', 'app/etc/config.php:1: does not return an array with a "modules" key', { file: configFile });
  }
  const modules = new Map<string, boolean>();
  // An empty PHP array reads as an empty list.
  const moduleMap = Array.isArray(config.modules) && config.modules.length === 0 ? {} : config.modules;
  if (moduleMap !== undefined && !isPhpObject(moduleMap)) {
    throw new AsyncEventsError('CONFIG_INVALID', `app/etc/config.php: "modules" must map module names to 1 or 0`, { file: configFile });
  }
  for (const [name, flag] of Object.entries(moduleMap ?? {})) modules.set(name, isEnabledFlag(flag));

  const envFile = path.join(absoluteRoot, 'app/etc/env.php');
  let env: PhpObject | undefined;
  if (await isFile(envFile)) {
    const parsed = await readPhpArrayFile(envFile, 'app/etc/env.php');
    if (!isPhpObject(parsed)) {
      throw new AsyncEventsError('CONFIG_INVALID', 'app/etc/env.php:1: does not return an array of settings', { file: envFile });
    }
    env = parsed;
  }

  const prefix = phpPath(env, ['db', 'table_prefix']);
  const cryptKey = phpPath(env, ['crypt', 'key']);
  const fromConfig = flattenSystemSection(phpPath(config, ['system', 'default']));
  const fromEnv = flattenSystemSection(phpPath(env, ['system', 'default']));
  const systemOverrides = { ...fromConfig, ...fromEnv };
  const systemOverrideFiles: Record<string, string> = {};
  for (const key of Object.keys(fromConfig)) systemOverrideFiles[key] = configFile;
  for (const key of Object.keys(fromEnv)) systemOverrideFiles[key] = envFile;
  return {
    root: absoluteRoot,
    modules,
    env,
    tablePrefix: typeof prefix === 'string' ? prefix : '',
    cryptKeys: typeof cryptKey === 'string' ? cryptKey.split(/\s+/).filter((key) => key !== '') : [],
    dbConnection: objectAt(env, ['db', 'connection', 'default']),
    amqp: objectAt(env, ['queue', 'amqp']),
    systemOverrides,
    files: { config: configFile, env: env === undefined ? undefined : envFile },
    systemOverrideFiles,
  };
}
