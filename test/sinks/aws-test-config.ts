import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import type { Encryptor } from '../../src/store/encryptor.ts';
import { type FakeAwsEndpoint, startFakeAwsEndpoint } from './aws-fake-endpoint.ts';

/** Admin config values for an AWS sink, with a decrypt that records what it was given. */
export function fakeAdminConfig(values: Record<string, string>, encryptor: Encryptor) {
  const store = new Map(Object.entries(values));
  const decrypted: string[] = [];
  return {
    store,
    decrypted,
    config: { get: async (path: string) => store.get(path) },
    decrypt: (value: string) => {
      decrypted.push(value);
      return encryptor.decrypt(value);
    },
  };
}

/** Keeps the SDK's default credential chain away from this machine's AWS setup (undone by vi.unstubAllEnvs). */
export function isolateAwsEnvironment(): void {
  const names = [
    'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION',
    'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EVENTBRIDGE', 'AWS_ENDPOINT_URL_SQS', 'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  ];
  for (const name of names) vi.stubEnv(name, undefined);
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws/credentials');
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws/config');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
}

/**
 * A SigV4-checking endpoint for one describe block: started before its tests, reset with the AWS environment isolated
 * before each, closed after them. Sinks passed to `track` are closed after each test, so no batch outlives it.
 */
export function useFakeAwsEndpoint(options: Parameters<typeof startFakeAwsEndpoint>[0]): { readonly fake: FakeAwsEndpoint; track<S extends { close(): Promise<void> }>(sink: S): S } {
  let fake: FakeAwsEndpoint | undefined;
  const sinks: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    fake = await startFakeAwsEndpoint(options);
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    isolateAwsEnvironment();
    fake?.reset();
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
    vi.unstubAllEnvs();
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake AWS endpoint is not started yet (use it inside a test)');
      return fake;
    },
    track(sink) {
      sinks.push(sink);
      return sink;
    },
  };
}
