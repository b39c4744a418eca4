import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AsyncEventsError } from '../errors.ts';

export { ensureEmbeddedCryptKey } from './crypt-key.ts';

/*
 * Magento's encryptor (Magento\Framework\Encryption\Encryptor with Adapter\SodiumChachaIetf), so that values
 * written by PHP decrypt here and ours decrypt in PHP:
 *
 * - env.php `crypt/key` holds one or more keys separated by whitespace, oldest first; the key version is the
 *   index. Encryption always uses the newest key.
 * - A key that starts with `base64` (Magento 2.4.7+ generator: 'base64' . base64_encode(32 random bytes)) is
 *   base64-decoded after the prefix; any other key is used as its raw bytes (32 characters before 2.4.7).
 * - Stored form `<keyVersion>:<cipherVersion>:<base64>`. Cipher 3 is ChaCha20-Poly1305 IETF
 *   (sodium_crypto_aead_chacha20poly1305_ietf_*): base64 of nonce(12) ‖ ciphertext ‖ tag(16), with the nonce also
 *   used as the additional data.
 * - Decrypt reads what Magento's decrypt reads (`kv:cv:iv:data` = Rijndael-256 CBC, `kv:cv:data`, `cv:data` with
 *   key 0) and, like PHP, trims whitespace and NUL bytes from the plain text. Cipher 1 (mcrypt Rijndael-128 ECB)
 *   is AES-ECB with a zero-padded key; ciphers 0 (Blowfish) and 2 (Rijndael-256) are not in Node's OpenSSL and
 *   fail with DECRYPT_FAILED naming the version.
 * - A value without that layout (upstream's test fixture stores the token `secret` in plain text) is returned
 *   unchanged instead of being run through Blowfish as PHP would.
 */

export const CIPHER_BLOWFISH = 0;
export const CIPHER_RIJNDAEL_128 = 1;
export const CIPHER_RIJNDAEL_256 = 2;
export const CIPHER_CHACHA20POLY1305 = 3;

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ENCODED_KEY_PREFIX = 'base64';

export interface Encryptor {
  /** `<newest key version>:3:<base64>`, exactly what Magento's `EncryptorInterface::encrypt()` writes. */
  encrypt(plainText: string): string;
  /** Plain text of a stored value; values that are not in an encrypted layout come back unchanged. */
  decrypt(stored: string): string;
  /** Whether the value has one of the layouts Magento's decrypt recognises. */
  isEncrypted(stored: string): boolean;
  /** How many key versions are configured. */
  readonly keyCount: number;
}

/** Splits env.php's `crypt/key` into its versions, as Magento does (`preg_split('/\s+/')`). */
export function parseCryptKeys(raw: string): string[] {
  const trimmed = raw.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** The key bytes Magento derives from one key string. */
export function keyBytes(key: string): Buffer {
  return key.startsWith(ENCODED_KEY_PREFIX)
    ? Buffer.from(key.slice(ENCODED_KEY_PREFIX.length), 'base64')
    : Buffer.from(key, 'utf8');
}

const THREE_PARTS = /^(\d+):(\d+):([A-Za-z0-9+/=\s]*)$/;
const FOUR_PARTS = /^(\d+):(\d+):([^:]*):([A-Za-z0-9+/=\s]*)$/;
const TWO_PARTS = /^(\d+):([A-Za-z0-9+/=\s]+)$/;

interface Layout {
  readonly keyVersion: number;
  readonly cipherVersion: number;
  readonly iv?: string;
  readonly data: string;
}

function parseLayout(stored: string): Layout | undefined {
  let m = FOUR_PARTS.exec(stored);
  if (m) return { keyVersion: Number(m[1]), cipherVersion: CIPHER_RIJNDAEL_256, iv: m[3] ?? '', data: m[4] ?? '' };
  m = THREE_PARTS.exec(stored);
  if (m) return { keyVersion: Number(m[1]), cipherVersion: Number(m[2]), data: m[3] ?? '' };
  m = TWO_PARTS.exec(stored);
  if (m) return { keyVersion: 0, cipherVersion: Number(m[1]), data: m[2] ?? '' };
  return undefined;
}

/** PHP trim(): " \t\n\r\0\x0B" from both ends. */
const PHP_TRIMMED = new Set([' ', '\t', '\n', '\r', '\0', '\x0B']);
function phpTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PHP_TRIMMED.has(text.charAt(start))) start += 1;
  while (end > start && PHP_TRIMMED.has(text.charAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

function decryptFailed(message: string, details: Record<string, unknown>, cause?: unknown): AsyncEventsError {
  return new AsyncEventsError('DECRYPT_FAILED', message, details, cause === undefined ? undefined : { cause });
}

export function createEncryptor(cryptKeys: readonly string[]): Encryptor {
  // Settings may hand over env.php's raw multi-line string as one element.
  const keys = cryptKeys.flatMap(parseCryptKeys);

  function chachaKey(keyVersion: number): Buffer {
    const key = keys[keyVersion];
    if (key === undefined) {
      throw decryptFailed(
        `value was encrypted with key version ${keyVersion}, but crypt/key has ${keys.length} key(s) (versions 0-${keys.length - 1})`,
        { keyVersion, keyCount: keys.length },
      );
    }
    const bytes = keyBytes(key);
    if (bytes.length !== KEY_BYTES) {
      throw decryptFailed(`crypt/key version ${keyVersion} gives ${bytes.length} bytes; ChaCha20-Poly1305 needs ${KEY_BYTES}`, {
        keyVersion,
      });
    }
    return bytes;
  }

  function decryptChaCha(layout: Layout): string {
    const key = chachaKey(layout.keyVersion);
    const raw = Buffer.from(layout.data, 'base64');
    if (raw.length < NONCE_BYTES + TAG_BYTES) {
      throw decryptFailed(`encrypted value is ${raw.length} bytes, shorter than nonce and tag`, { keyVersion: layout.keyVersion });
    }
    const nonce = raw.subarray(0, NONCE_BYTES);
    const cipherText = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(nonce, { plaintextLength: cipherText.length });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(cipherText), decipher.final()]).toString('utf8');
    } catch (error) {
      throw decryptFailed(
        `cannot decrypt with crypt/key version ${layout.keyVersion}: authentication failed (wrong key or damaged value)`,
        { keyVersion: layout.keyVersion },
        error,
      );
    }
  }

  function decryptRijndael128(layout: Layout): string {
    const key = keys[layout.keyVersion];
    if (key === undefined) return decryptChaCha(layout); // reports the missing version
    const bytes = keyBytes(key);
    // mcrypt pads a short key with NUL bytes to the next Rijndael key size.
    const size = bytes.length <= 16 ? 16 : bytes.length <= 24 ? 24 : 32;
    if (bytes.length > 32) throw decryptFailed(`crypt/key version ${layout.keyVersion} is longer than 32 bytes`, {});
    const padded = Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);
    const raw = Buffer.from(layout.data, 'base64');
    if (raw.length % 16 !== 0) throw decryptFailed('Rijndael-128 value is not a whole number of blocks', {});
    const decipher = createDecipheriv(`aes-${size * 8}-ecb`, padded, null);
    decipher.setAutoPadding(false);
    return Buffer.concat([decipher.update(raw), decipher.final()]).toString('utf8');
  }

  return {
    keyCount: keys.length,
    isEncrypted: (stored) => parseLayout(stored) !== undefined,
    encrypt(plainText) {
      const keyVersion = keys.length - 1;
      if (keyVersion < 0) {
        throw new AsyncEventsError('CRYPT_KEY_MISSING', 'no crypt/key configured: cannot encrypt verification tokens', {});
      }
      const key = keyBytes(keys[keyVersion] ?? '');
      if (key.length !== KEY_BYTES) {
        throw new AsyncEventsError(
          'CRYPT_KEY_MISSING',
          `crypt/key version ${keyVersion} gives ${key.length} bytes; ChaCha20-Poly1305 needs ${KEY_BYTES}`,
          { keyVersion },
        );
      }
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      const plain = Buffer.from(plainText, 'utf8');
      cipher.setAAD(nonce, { plaintextLength: plain.length });
      const cipherText = Buffer.concat([cipher.update(plain), cipher.final()]);
      const payload = Buffer.concat([nonce, cipherText, cipher.getAuthTag()]);
      return `${keyVersion}:${CIPHER_CHACHA20POLY1305}:${payload.toString('base64')}`;
    },
    decrypt(stored) {
      const layout = parseLayout(stored);
      if (!layout) return stored;
      switch (layout.cipherVersion) {
        case CIPHER_CHACHA20POLY1305:
          return phpTrim(decryptChaCha(layout));
        case CIPHER_RIJNDAEL_128:
          return phpTrim(decryptRijndael128(layout));
        case CIPHER_BLOWFISH:
          throw decryptFailed('value uses cipher version 0 (mcrypt Blowfish ECB), which Node\'s OpenSSL 3 does not provide; re-save it in Magento to re-encrypt it with cipher 3', {
            cipherVersion: layout.cipherVersion,
          });
        case CIPHER_RIJNDAEL_256:
          throw decryptFailed('value uses cipher version 2 (mcrypt Rijndael-256 CBC), which Node\'s OpenSSL does not provide; re-save it in Magento to re-encrypt it with cipher 3', {
            cipherVersion: layout.cipherVersion,
          });
        default:
          throw decryptFailed(`unknown cipher version ${layout.cipherVersion}`, { cipherVersion: layout.cipherVersion });
      }
    },
  };
}
