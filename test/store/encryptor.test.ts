import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { createEncryptor, ensureEmbeddedCryptKey, keyBytes, parseCryptKeys } from '../../src/store/encryptor.ts';
import type { Store } from '../../src/store/store.ts';
import { MARIADB, describeWith } from '../support/services.ts';
import { BACKENDS, openStore } from './backends.ts';
import { php, phpDecrypt, phpEncrypt } from './magento-crypt-php.ts';

// A pre-2.4.7 key (32 characters used as bytes) and a 2.4.7+ key ('base64' + 32 random bytes).
const OLD_KEY = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const NEW_KEY = `base64${randomBytes(32).toString('base64')}`;

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('encryptor (Node side)', () => {
  it('writes <newest key version>:3:<base64 of nonce, ciphertext and tag> and reads it back', () => {
    const encryptor = createEncryptor([OLD_KEY]);
    const stored = encryptor.encrypt('s3cret-token');
    expect(stored).toMatch(/^0:3:[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(stored.slice(4), 'base64')).toHaveLength(12 + 's3cret-token'.length + 16);
    expect(encryptor.decrypt(stored)).toBe('s3cret-token');
    // A fresh nonce each time.
    expect(encryptor.encrypt('s3cret-token')).not.toBe(stored);
  });

  it('encrypts with the newest key and still decrypts values of older key versions', () => {
    const old = createEncryptor([OLD_KEY]);
    const rotated = createEncryptor([OLD_KEY, NEW_KEY]);
    const written = old.encrypt('before rotation');
    expect(rotated.decrypt(written)).toBe('before rotation');
    const fresh = rotated.encrypt('after rotation');
    expect(fresh.startsWith('1:3:')).toBe(true);
    expect(rotated.decrypt(fresh)).toBe('after rotation');
    const missing = errorOf(() => old.decrypt(fresh));
    expect(isAsyncEventsError(missing, 'DECRYPT_FAILED')).toBe(true);
    expect((missing as Error).message).toContain('key version 1');
  });

  it('splits env.php crypt/key on whitespace, as one string or as versions', () => {
    expect(parseCryptKeys(`  ${OLD_KEY}\n${NEW_KEY}\n`)).toEqual([OLD_KEY, NEW_KEY]);
    const fromRaw = createEncryptor([`${OLD_KEY}\n${NEW_KEY}`]);
    expect(fromRaw.keyCount).toBe(2);
    expect(fromRaw.encrypt('x').startsWith('1:3:')).toBe(true);
  });

  it('derives 32 key bytes from both key formats', () => {
    expect(keyBytes(OLD_KEY)).toEqual(Buffer.from(OLD_KEY));
    expect(keyBytes(NEW_KEY)).toEqual(Buffer.from(NEW_KEY.slice('base64'.length), 'base64'));
    expect(keyBytes(NEW_KEY)).toHaveLength(32);
  });

  it('returns values without the encrypted layout unchanged (upstream fixture tokens are plain text)', () => {
    const encryptor = createEncryptor([OLD_KEY]);
    expect(encryptor.isEncrypted('secret')).toBe(false);
    expect(encryptor.decrypt('secret')).toBe('secret');
    expect(encryptor.decrypt('https://example.com/hook')).toBe('https://example.com/hook');
  });

  it('fails clearly on a wrong key, a damaged value and ciphers Node cannot run', () => {
    const stored = createEncryptor([OLD_KEY]).encrypt('token');
    const wrongKey = errorOf(() => createEncryptor(['z'.repeat(32)]).decrypt(stored));
    expect(isAsyncEventsError(wrongKey, 'DECRYPT_FAILED')).toBe(true);
    expect((wrongKey as Error).message).toMatch(/authentication failed/);
    const damaged = `${stored.slice(0, -6)}AAAA==`;
    expect(isAsyncEventsError(errorOf(() => createEncryptor([OLD_KEY]).decrypt(damaged)), 'DECRYPT_FAILED')).toBe(true);
    const blowfish = errorOf(() => createEncryptor([OLD_KEY]).decrypt('0:0:AAAAAAAAAAA='));
    expect((blowfish as Error).message).toContain('cipher version 0');
    const rijndael256 = errorOf(() => createEncryptor([OLD_KEY]).decrypt('0:2:abcdefgh:AAAAAAAAAAA='));
    expect((rijndael256 as Error).message).toContain('cipher version 2');
    expect(isAsyncEventsError(rijndael256, 'DECRYPT_FAILED')).toBe(true);
  });

  it('refuses to encrypt without a usable key', () => {
    expect(isAsyncEventsError(errorOf(() => createEncryptor([]).encrypt('x')), 'CRYPT_KEY_MISSING')).toBe(true);
    expect(isAsyncEventsError(errorOf(() => createEncryptor(['short']).encrypt('x')), 'CRYPT_KEY_MISSING')).toBe(true);
  });

  it('trims the plain text as PHP decrypt does', () => {
    const encryptor = createEncryptor([OLD_KEY]);
    expect(encryptor.decrypt(encryptor.encrypt('  padded token\n'))).toBe('padded token');
  });
});

describeWith(['php'], 'encryptor against real PHP libsodium (Magento steps)', () => {
  it('decrypts values PHP encrypted, with the old key format', () => {
    const stored = phpEncrypt(OLD_KEY, 'php-token-1');
    expect(stored).toMatch(/^0:3:/);
    expect(createEncryptor([OLD_KEY]).decrypt(stored)).toBe('php-token-1');
  });

  it('decrypts values PHP encrypted, with a base64 (2.4.7+) key', () => {
    const stored = phpEncrypt(NEW_KEY, 'php-token-2 ünïcødé ✓');
    expect(createEncryptor([NEW_KEY]).decrypt(stored)).toBe('php-token-2 ünïcødé ✓');
  });

  it('writes values PHP decrypts, both key formats', () => {
    for (const key of [OLD_KEY, NEW_KEY]) {
      const stored = createEncryptor([key]).encrypt('node-token ✓');
      expect(phpDecrypt(key, stored)).toBe('node-token ✓');
    }
  });

  it('agrees with PHP on key versions: PHP and Node both encrypt with the newest, read every version', () => {
    const keys = [OLD_KEY, NEW_KEY, 'Q'.repeat(32)];
    const raw = keys.join('\n');
    const encryptor = createEncryptor(keys);
    const byPhpNewest = phpEncrypt(raw, 'newest');
    expect(byPhpNewest.startsWith('2:3:')).toBe(true);
    expect(encryptor.decrypt(byPhpNewest)).toBe('newest');
    for (const version of [0, 1]) {
      const byPhpOld = phpEncrypt(raw, `version ${version}`, version);
      expect(byPhpOld.startsWith(`${version}:3:`)).toBe(true);
      expect(encryptor.decrypt(byPhpOld)).toBe(`version ${version}`);
    }
    const byNode = encryptor.encrypt('from node');
    expect(byNode.startsWith('2:3:')).toBe(true);
    expect(phpDecrypt(raw, byNode)).toBe('from node');
  });

  it('PHP rejects a Node value under another key (so the keys really are used)', () => {
    const stored = createEncryptor([OLD_KEY]).encrypt('x');
    expect(phpDecrypt('Z'.repeat(32), stored)).toBeNull();
  });

  it('reads legacy cipher 1 (mcrypt Rijndael-128 ECB) values', () => {
    const stored = String(php({ op: 'encrypt-rijndael128', keys: OLD_KEY, plain: 'legacy token value' }).value);
    expect(stored).toMatch(/^0:1:/);
    expect(createEncryptor([OLD_KEY]).decrypt(stored)).toBe('legacy token value');
  });
});

describeWith(['php', 'mariadb'], 'verification tokens shared with PHP through MariaDB', () => {
  const keys = [OLD_KEY, NEW_KEY];
  let store: Store;
  let drop: () => Promise<void>;
  let dsn: string;

  beforeAll(async () => {
    const mariadb = BACKENDS.find((b) => b.name === 'MariaDB');
    if (!mariadb) throw new Error('no MariaDB backend');
    const db = await mariadb.newDatabase();
    drop = db.drop;
    if (db.settings.kind !== 'mysql') throw new Error('expected MySQL settings');
    dsn = `mysql:host=${MARIADB.host};port=${MARIADB.port};dbname=${db.settings.database};charset=utf8mb4`;
    store = await openStore(db.settings, 'm2_', keys);
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('PHP reads and decrypts a token the sidecar stored', async () => {
    const sub = await store.subscriptions.create({ eventName: 'shared.event', recipientUrl: 'https://example.com/s', verificationToken: 'shared ✓ token', metadata: 'http' });
    const result = php({ op: 'pdo-read', dsn, user: MARIADB.user, password: MARIADB.password, table: store.tables.async_event_subscriber, id: sub.id, keys: keys.join('\n') });
    expect(result.plain).toBe('shared ✓ token');
  });

  it('the sidecar reads and decrypts a token PHP stored', async () => {
    const { id } = php({ op: 'pdo-write', dsn, user: MARIADB.user, password: MARIADB.password, table: store.tables.async_event_subscriber, keys: keys.join('\n'), plain: 'from php ✓', eventName: 'php.event', recipientUrl: 'https://example.com/php' });
    const sub = await store.subscriptions.get(Number(id));
    expect(sub).toMatchObject({ eventName: 'php.event', verificationToken: 'from php ✓', active: true, storeId: 0 });
    expect(Math.abs(sub!.subscribedAt!.getTime() - Date.now())).toBeLessThan(10_000);
  });
});

describe('ensureEmbeddedCryptKey', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ae-cryptkey-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/crypt.key once (32 letters and digits, owner-only) and returns it ever after', async () => {
    const dataDir = path.join(dir, 'var');
    const key = await ensureEmbeddedCryptKey(dataDir);
    expect(key).toMatch(/^[A-Za-z0-9]{32}$/);
    const file = path.join(dataDir, 'crypt.key');
    expect((await readFile(file, 'utf8')).trim()).toBe(key);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await ensureEmbeddedCryptKey(dataDir)).toBe(key);
    // The generated key is a working ChaCha20 key.
    const encryptor = createEncryptor([key]);
    expect(encryptor.decrypt(encryptor.encrypt('t'))).toBe('t');
  });

  it('gives every racing caller the same key', async () => {
    const dataDir = path.join(dir, 'race');
    const keys = await Promise.all(Array.from({ length: 8 }, () => ensureEmbeddedCryptKey(dataDir)));
    expect(new Set(keys).size).toBe(1);
  });

  it('keeps an existing key file', async () => {
    const dataDir = path.join(dir, 'existing');
    await ensureEmbeddedCryptKey(dataDir);
    await writeFile(path.join(dataDir, 'crypt.key'), 'K'.repeat(32));
    expect(await ensureEmbeddedCryptKey(dataDir)).toBe('K'.repeat(32));
  });
});
