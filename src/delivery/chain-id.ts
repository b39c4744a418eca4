import { createHash, randomUUID } from 'node:crypto';

// Namespace of the name-based UUIDs below (a random v4, fixed forever: changing it changes every chain id).
const CHAIN_NAMESPACE = Buffer.from('6f1c2a4e9b7d4c1e8a3f5d2b7c9e0a41', 'hex');

/**
 * The UUID of the chain that delivers one queue message to one subscription. It is derived from the message id,
 * so a message redelivered after a crash continues the same chains instead of starting new ones: every UUID then
 * ends with a success row, and receivers can deduplicate on `webhook-id`.
 */
export function chainUuid(messageId: string | undefined, subscriptionId: number, installationSalt = ''): string {
  if (!messageId) return randomUUID();
  // The salt is random per installation: database-queue message ids (1, 2, 3…) repeat across installs, and the
  // same UUID reaching one receiver from staging and production must not make it drop a delivery as a duplicate.
  const hash = createHash('sha1').update(CHAIN_NAMESPACE).update(`${installationSalt}#${messageId}#${subscriptionId}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50; // version 5
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
