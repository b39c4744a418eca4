import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { AsyncEventsError } from '../errors.ts';

/*
 * Connection settings of the AWS sinks, read live from Magento's admin config (section `async_events_aws` of the
 * upstream MageOS_AsyncEventsAWS module). Key and secret either both come from config, or both are left to the
 * AWS SDK's default credential chain; region comes from config, else from wherever the SDK finds it
 * (AWS_REGION, the shared config file).
 */

/** Live admin config: `core_config_data` default scope with `env.php` `system` overrides. */
export interface ConfigGetter {
  get(path: string): Promise<string | undefined>;
}

/** Magento's encryptor: `secret_access_key` is saved through the Encrypted backend model. */
export type Decrypt = (value: string) => string;

export type AwsSinkGroup = 'eventbridge' | 'sqs';

export interface AwsConfigPaths {
  readonly accessKey: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export function awsConfigPaths(group: AwsSinkGroup): AwsConfigPaths {
  const prefix = `async_events_aws/${group}`;
  return { accessKey: `${prefix}/access_key`, secretAccessKey: `${prefix}/secret_access_key`, region: `${prefix}/region` };
}

/** What selects an AWS client; empty fields are left to the SDK's defaults. */
export interface AwsConnection {
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly region?: string;
}

/** Reads one sink's connection; throws SINK_NOT_CONFIGURED (naming the path) when it is half set or undecryptable. */
export async function readAwsConnection(config: ConfigGetter, decrypt: Decrypt, group: AwsSinkGroup): Promise<AwsConnection> {
  const paths = awsConfigPaths(group);
  const [accessKey, storedSecret, region] = await Promise.all([
    config.get(paths.accessKey).then(clean),
    config.get(paths.secretAccessKey).then(clean),
    config.get(paths.region).then(clean),
  ]);
  let secret: string | undefined;
  if (storedSecret !== undefined) {
    try {
      secret = clean(decrypt(storedSecret));
    } catch (error) {
      throw new AsyncEventsError(
        'SINK_NOT_CONFIGURED',
        `${paths.secretAccessKey} cannot be decrypted with the crypt/key of env.php (${(error as Error).message}); save the secret again in Stores › Configuration › Async Events AWS`,
        { path: paths.secretAccessKey },
        { cause: error },
      );
    }
  }
  // Half a credential pair is a mistake worth naming rather than silently using some other identity.
  if (accessKey !== undefined && secret === undefined) {
    throw new AsyncEventsError('SINK_NOT_CONFIGURED', `${paths.accessKey} is set but ${paths.secretAccessKey} is empty: set both, or clear both to use the AWS default credential chain`, { path: paths.secretAccessKey });
  }
  if (accessKey === undefined && secret !== undefined) {
    throw new AsyncEventsError('SINK_NOT_CONFIGURED', `${paths.secretAccessKey} is set but ${paths.accessKey} is empty: set both, or clear both to use the AWS default credential chain`, { path: paths.accessKey });
  }
  return {
    ...(accessKey !== undefined && secret !== undefined ? { accessKeyId: accessKey, secretAccessKey: secret } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Cache key of a connection; hashed so the secret does not sit in a map key. */
export function connectionKey(connection: AwsConnection): string {
  return createHash('sha256')
    .update(JSON.stringify([connection.accessKeyId ?? null, connection.secretAccessKey ?? null, connection.region ?? null]))
    .digest('hex');
}

/**
 * The first credential source of the SDK's default chain that the environment offers, or undefined. EC2 instance
 * metadata cannot be seen without asking it; `AWS_EC2_METADATA_SERVICE_ENDPOINT` is taken as the sign of it.
 */
export async function defaultChainSource(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return 'AWS_WEB_IDENTITY_TOKEN_FILE';
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return 'container credentials';
  if (env.AWS_PROFILE) return `AWS_PROFILE=${env.AWS_PROFILE}`;
  const home = env.HOME ?? homedir();
  for (const file of [env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials'), env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config')]) {
    if (await exists(file)) return file;
  }
  if (env.AWS_EC2_METADATA_SERVICE_ENDPOINT && env.AWS_EC2_METADATA_DISABLED !== 'true') return 'EC2 instance metadata';
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export function missingCredentialsReason(paths: AwsConfigPaths): string {
  return (
    `no AWS credentials: set ${paths.accessKey} and ${paths.secretAccessKey}, or give the AWS default credential chain a source ` +
    '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws/credentials, a web identity token, container credentials)'
  );
}

/** The region a client will sign for; throws SINK_NOT_CONFIGURED naming the path when neither config nor the SDK knows one. */
export async function requireRegion(client: { config: { region: () => Promise<string> } }, paths: AwsConfigPaths): Promise<string> {
  let region: string | undefined;
  try {
    region = await client.config.region();
  } catch {
    region = undefined;
  }
  if (!region) {
    throw new AsyncEventsError('SINK_NOT_CONFIGURED', `no AWS region: set ${paths.region} (e.g. us-east-1) or the AWS_REGION environment variable`, { path: paths.region });
  }
  return region;
}

/** What every AWS client of ours is built with: the connection's region and keys, one attempt, hard timeouts. */
export function awsClientSettings(connection: AwsConnection, options: { endpoint?: string; connectionTimeoutMs?: number; requestTimeoutMs?: number }) {
  return {
    ...(connection.region !== undefined ? { region: connection.region } : {}),
    ...(connection.accessKeyId !== undefined && connection.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey } }
      : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    // Our chain does the backoff; SDK retries would multiply attempts and hide them from the log.
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 5000, requestTimeout: options.requestTimeoutMs ?? 15_000, throwOnRequestTimeout: true },
  };
}
