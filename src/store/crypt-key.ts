import { randomInt } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AsyncEventsError } from '../errors.ts';

// Magento\Framework\Math\Random::getRandomString's default alphabet (lowers, uppers, digits).
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const KEY_LENGTH = 32;
/** The embedded key's file name in the data dir. */
export const CRYPT_KEY_FILE = 'crypt.key';

/** 32 random characters, the shape of a pre-2.4.7 Magento crypt key (usable as a ChaCha20 key as is). */
export function generateCryptKey(): string {
  let key = '';
  for (let i = 0; i < KEY_LENGTH; i += 1) key += ALPHABET[randomInt(ALPHABET.length)];
  return key;
}

/**
 * The embedded mode's crypt key: `<dataDir>/crypt.key`, created at first start. Several processes may start at
 * once, so the file is created exclusively and a loser of the race reads the winner's key.
 */
export async function ensureEmbeddedCryptKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, CRYPT_KEY_FILE);
  const existing = await readKey(file);
  if (existing !== undefined) return existing;
  await mkdir(dataDir, { recursive: true });
  const key = generateCryptKey();
  try {
    await writeFile(file, `${key}\n`, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AsyncEventsError('CRYPT_KEY_MISSING', `cannot create ${file}: ${(error as Error).message}`, { file }, { cause: error });
    }
    const raced = await readKey(file);
    if (raced === undefined) throw new AsyncEventsError('CRYPT_KEY_MISSING', `${file} exists but is empty`, { file });
    return raced;
  }
}

/** The embedded key if one was made, without creating it (read-only commands). */
export async function readEmbeddedCryptKey(dataDir: string): Promise<string | undefined> {
  return readKey(path.join(dataDir, CRYPT_KEY_FILE));
}

async function readKey(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AsyncEventsError('CRYPT_KEY_MISSING', `cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const key = text.trim();
  if (key === '') {
    // A racing creator may not have written yet; an empty file is otherwise a damaged install.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = (await readFile(file, 'utf8')).trim();
    if (again === '') throw new AsyncEventsError('CRYPT_KEY_MISSING', `${file} is empty: delete it only if no token was stored with it`, { file });
    return again;
  }
  return key;
}
