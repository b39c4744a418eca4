import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { freePort } from '../support/services.ts';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('createStore on a database it cannot use', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ae-create-store-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says which MySQL server does not answer, without the password', async () => {
    const port = await freePort();
    const error = await rejection(
      createStore({
        database: { kind: 'mysql', host: '127.0.0.1', port, user: 'magento', password: 'hunter2', database: 'magento' },
        tablePrefix: '',
        cryptKeys: [],
        logger: silentLogger(),
      }),
    );
    expect(isAsyncEventsError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).toContain(`mysql://magento@127.0.0.1:${port}/magento`);
    expect(error.message).not.toContain('hunter2');
  });

  it('says which SQLite file cannot be opened', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const file = path.join(blocker, 'store.sqlite');
    const error = await rejection(createStore({ database: { kind: 'sqlite', path: file }, tablePrefix: '', cryptKeys: [], logger: silentLogger() }));
    expect(isAsyncEventsError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).toContain(file);
  });
});
