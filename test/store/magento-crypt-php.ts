import { execFileSync } from 'node:child_process';

/*
 * Magento's encryption steps, run by real PHP with libsodium, as the reference the Node encryptor must match:
 * keys split on whitespace (newest last), a `base64`-prefixed key base64-decoded after the prefix (2.4.7+),
 * sodium_crypto_aead_chacha20poly1305_ietf_encrypt(plain, nonce, nonce, key), stored as
 * `<keyVersion>:3:` . base64(nonce . ciphertext), and decrypt trimming the plain text. Cipher 1 is mcrypt's
 * Rijndael-128 ECB, which for a 32-byte key is AES-256-ECB over NUL-padded blocks.
 */
const PHP = String.raw`
$in = json_decode(stream_get_contents(STDIN), true);
$keys = preg_split('/\s+/s', trim($in['keys']));
$keyBytes = function (string $key): string {
    return str_starts_with($key, 'base64') ? base64_decode(substr($key, strlen('base64'))) : $key;
};
$n = SODIUM_CRYPTO_AEAD_CHACHA20POLY1305_IETF_NPUBBYTES;
switch ($in['op']) {
    case 'encrypt':
        $version = $in['keyVersion'] ?? count($keys) - 1;
        $nonce = random_bytes($n);
        $cipher = sodium_crypto_aead_chacha20poly1305_ietf_encrypt($in['plain'], $nonce, $nonce, $keyBytes($keys[$version]));
        echo json_encode(['value' => $version . ':3:' . base64_encode($nonce . $cipher)]);
        break;
    case 'decrypt':
        [$version, $cipherVersion, $data] = explode(':', $in['value'], 3);
        $raw = base64_decode($data);
        $plain = sodium_crypto_aead_chacha20poly1305_ietf_decrypt(substr($raw, $n), substr($raw, 0, $n), substr($raw, 0, $n), $keyBytes($keys[(int)$version]));
        echo json_encode(['plain' => $plain === false ? null : trim($plain), 'cipherVersion' => (int)$cipherVersion]);
        break;
    case 'pdo-read':
        // What Magento's resource model and decrypt do with a row another process wrote.
        $pdo = new PDO($in['dsn'], $in['user'], $in['password']);
        $stmt = $pdo->prepare('SELECT verification_token FROM ' . $in['table'] . ' WHERE subscription_id = ?');
        $stmt->execute([$in['id']]);
        [$version, $cipherVersion, $data] = explode(':', $stmt->fetchColumn(), 3);
        $raw = base64_decode($data);
        $plain = sodium_crypto_aead_chacha20poly1305_ietf_decrypt(substr($raw, $n), substr($raw, 0, $n), substr($raw, 0, $n), $keyBytes($keys[(int)$version]));
        echo json_encode(['plain' => $plain === false ? null : trim($plain)]);
        break;
    case 'pdo-write':
        // What upstream's repository save does: encrypt the token, insert the row.
        $pdo = new PDO($in['dsn'], $in['user'], $in['password']);
        $version = count($keys) - 1;
        $nonce = random_bytes($n);
        $token = $version . ':3:' . base64_encode($nonce . sodium_crypto_aead_chacha20poly1305_ietf_encrypt($in['plain'], $nonce, $nonce, $keyBytes($keys[$version])));
        $pdo->exec('SET NAMES utf8mb4');
        $stmt = $pdo->prepare('INSERT INTO ' . $in['table'] . ' (event_name, recipient_url, verification_token, status, metadata, subscribed_at, store_id) VALUES (?, ?, ?, 1, ?, UTC_TIMESTAMP(), 0)');
        $stmt->execute([$in['eventName'], $in['recipientUrl'], $token, 'http']);
        echo json_encode(['id' => (int)$pdo->lastInsertId()]);
        break;
    case 'encrypt-rijndael128':
        $version = count($keys) - 1;
        $block = 16;
        $plain = $in['plain'];
        $padded = $plain . str_repeat("\0", (($block - strlen($plain) % $block) % $block));
        $cipher = openssl_encrypt($padded, 'aes-256-ecb', $keyBytes($keys[$version]), OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING);
        echo json_encode(['value' => $version . ':1:' . base64_encode($cipher)]);
        break;
}
`;

export function php(input: Record<string, unknown>): Record<string, unknown> {
  const out = execFileSync('php', ['-r', PHP], { input: JSON.stringify(input), encoding: 'utf8', timeout: 10_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

export function phpEncrypt(keys: string, plain: string, keyVersion?: number): string {
  return String(php({ op: 'encrypt', keys, plain, ...(keyVersion === undefined ? {} : { keyVersion }) }).value);
}

export function phpDecrypt(keys: string, value: string): string | null {
  const plain = php({ op: 'decrypt', keys, value }).plain;
  return plain === null ? null : String(plain);
}
