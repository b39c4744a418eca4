import { createHmac } from 'node:crypto';

/*
 * Webhook signatures. `x-magento-signature` is upstream's: lower-case hex HMAC-SHA256 of the exact body bytes,
 * keyed with the verification token (PHP `hash_hmac('sha256', $body, $token)`). Beside it we send the Standard
 * Webhooks headers (https://www.standardwebhooks.com): `webhook-id` (the chain UUID), `webhook-timestamp` (unix
 * seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the UTF-8
 * bytes of the same token.
 *
 * Receivers using the `standardwebhooks` libraries pass the token as a secret in either form:
 *   new Webhook('whsec_' + Buffer.from(token, 'utf8').toString('base64'))
 *   new Webhook(Buffer.from(token, 'utf8'), { format: 'raw' })    // JS library; exact for any token
 * (`{ format: 'raw' }` with a string maps characters to bytes one by one, which is only right for ASCII tokens.)
 *
 * Token rotation: during a grace period the old tokens sign too; `webhook-signature` then carries one
 * space-separated `v1,` value per token (current first), which the libraries accept. `x-magento-signature` has
 * room for one value and always uses the current token; `x-magento-signature-previous` carries the same HMAC
 * keyed with each old token (newest first, `, `-separated as an HTTP list; one value after a single rotation),
 * and is absent when there is none.
 */

export interface SignatureHeaders {
  readonly 'x-magento-signature': string;
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
  readonly 'x-magento-signature-previous'?: string;
}

export function magentoSignature(body: string | Uint8Array, token: string): string {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(body).digest('hex');
}

export function standardWebhookSignature(id: string, timestampSeconds: number, body: string | Uint8Array, token: string): string {
  const hmac = createHmac('sha256', Buffer.from(token, 'utf8'));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}

export function signatureHeaders(options: {
  readonly id: string;
  readonly body: string | Uint8Array;
  readonly token: string;
  /** Tokens still honoured during a rotation grace period. */
  readonly previousTokens?: readonly string[];
  readonly now?: Date;
}): SignatureHeaders {
  const timestamp = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const previous = [...new Set((options.previousTokens ?? []).filter((t) => t !== options.token && t !== ''))];
  const tokens = [options.token, ...previous];
  return {
    'x-magento-signature': magentoSignature(options.body, options.token),
    ...(previous.length > 0 ? { 'x-magento-signature-previous': previous.map((t) => magentoSignature(options.body, t)).join(', ') } : {}),
    'webhook-id': options.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': tokens.map((t) => standardWebhookSignature(options.id, timestamp, options.body, t)).join(' '),
  };
}
