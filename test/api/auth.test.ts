import { describe, expect, it } from 'vitest';
import { bearerToken, createApiTokenAuth, createCompositeAuth } from '../../src/api/auth.ts';
import type { Authenticator } from '../../src/api/dependencies.ts';
import { AsyncEventsError } from '../../src/errors.ts';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AsyncEventsError) return error.code;
    throw error;
  }
  return 'OK';
}

describe('bearer token auth', () => {
  it('reads "Bearer <token>" with any scheme case and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('accepts the API token and refuses others with UNAUTHORIZED in Magento\'s words', async () => {
    const auth = createApiTokenAuth('s3cret');
    expect(await auth.authenticate('Bearer s3cret')).toEqual({ kind: 'api-token' });
    for (const header of [undefined, 'Bearer s3cre', 'Bearer s3cret2', 'Bearer ', 'Token s3cret']) {
      await expect(auth.authenticate(header)).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: "The consumer isn't authorized to access MageOS_AsyncEvents::manage." });
    }
    expect(() => createApiTokenAuth('')).toThrow(/must not be empty/);
  });

  it('composite: first success wins; FORBIDDEN beats UNAUTHORIZED; infrastructure errors are not hidden', async () => {
    const refuse = (code: 'UNAUTHORIZED' | 'FORBIDDEN' | 'STORE_UNAVAILABLE'): Authenticator => ({
      authenticate: async () => {
        throw new AsyncEventsError(code, code);
      },
    });
    const api = createApiTokenAuth('tok');
    expect(await createCompositeAuth([refuse('UNAUTHORIZED'), api]).authenticate('Bearer tok')).toEqual({ kind: 'api-token' });
    expect(await codeOf(createCompositeAuth([api, refuse('FORBIDDEN')]).authenticate('Bearer x'))).toBe('FORBIDDEN');
    expect(await codeOf(createCompositeAuth([api, refuse('STORE_UNAVAILABLE')]).authenticate('Bearer x'))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(createCompositeAuth([api, refuse('UNAUTHORIZED')]).authenticate('Bearer x'))).toBe('UNAUTHORIZED');
  });
});
