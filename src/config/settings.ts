import type { PayloadFormat } from '../types.ts';

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
  /** Where each value came from, for `doctor`. */
  readonly origins: Readonly<Record<string, SettingOrigin>>;
}

export type SettingOrigin = 'flag' | 'env' | 'dotenv' | 'env.php' | 'default' | 'generated';

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
