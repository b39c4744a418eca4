import type { Kysely } from 'kysely';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { requiredDbDateTime, toDbDateTime } from './datetime.ts';
import type { Encryptor } from './encryptor.ts';
import type { Database } from './schema.ts';

/*
 * Replaced verification tokens (`async_event_previous_token`, ours): when a subscription's token changes through the
 * subscription service, the old one is kept here, encrypted like the current one, so deliveries can go on signing
 * with it during the rotation grace period. Whether a token is still inside that period is decided when it is read,
 * from its `replaced_at` and the grace period configured then, so shortening the setting (to 0 after a leak)
 * stops old tokens at once. Expired rows are deleted as they are met and by the periodic cleanup.
 */

/** Replaced tokens kept per subscription; a rotation beyond this drops the oldest (each one adds a signature). */
export const MAX_PREVIOUS_TOKENS = 5;

/** `async_event_previous_token.verification_token` is varchar(255), like upstream's column. */
const STORED_MAX_LENGTH = 255;

export interface PreviousToken {
  readonly token: string;
  readonly replacedAt: Date;
}

export interface PreviousTokenRepository {
  /** Keeps a token the subscription no longer uses, replaced at `replacedAt`; beyond MAX_PREVIOUS_TOKENS the oldest go. */
  keep(subscriptionId: number, token: string, replacedAt: Date): Promise<void>;
  /**
   * The subscription's tokens replaced after `since` (the grace period's start), newest first. Rows replaced at or
   * before it are deleted on the way; a row that cannot be decrypted (its key was removed) is left out.
   */
  since(subscriptionId: number, since: Date): Promise<PreviousToken[]>;
  /** Deletes every token replaced at or before the cut-off, of every subscription; returns how many went. */
  deleteReplacedBefore(cutoff: Date): Promise<number>;
}

export function createPreviousTokenRepository(db: Kysely<Database>, encryptor: Encryptor, logger: Logger): PreviousTokenRepository {
  return {
    async keep(subscriptionId, token, replacedAt) {
      const stored = encryptor.encrypt(token);
      if (stored.length > STORED_MAX_LENGTH) {
        throw new AsyncEventsError('VALIDATION_FAILED', `verification_token: is too long: encrypted it takes ${stored.length} characters, the column holds ${STORED_MAX_LENGTH}`, { field: 'verification_token' });
      }
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('async_event_previous_token')
          .values({ subscription_id: subscriptionId, verification_token: stored, replaced_at: toDbDateTime(replacedAt) })
          .execute();
        const kept = await trx
          .selectFrom('async_event_previous_token')
          .select('token_id')
          .where('subscription_id', '=', subscriptionId)
          .orderBy('replaced_at', 'desc')
          .orderBy('token_id', 'desc')
          .execute();
        const surplus = kept.slice(MAX_PREVIOUS_TOKENS).map((row) => Number(row.token_id));
        if (surplus.length > 0) await trx.deleteFrom('async_event_previous_token').where('token_id', 'in', surplus).execute();
      });
    },

    async since(subscriptionId, since) {
      const rows = await db
        .selectFrom('async_event_previous_token')
        .selectAll()
        .where('subscription_id', '=', subscriptionId)
        .orderBy('replaced_at', 'desc')
        .orderBy('token_id', 'desc')
        .execute();
      const valid: PreviousToken[] = [];
      const expired: number[] = [];
      for (const row of rows) {
        const replacedAt = requiredDbDateTime(row.replaced_at, 'async_event_previous_token.replaced_at');
        if (replacedAt.getTime() <= since.getTime()) {
          expired.push(Number(row.token_id));
          continue;
        }
        try {
          valid.push({ token: encryptor.decrypt(row.verification_token), replacedAt });
        } catch (error) {
          if (!isAsyncEventsError(error, 'DECRYPT_FAILED')) throw error;
          // The message names the key version, never the value.
          logger.warn({ subscriptionId, tokenId: Number(row.token_id), reason: error.message }, 'a previous verification token cannot be decrypted; it does not co-sign');
        }
      }
      if (expired.length > 0) await db.deleteFrom('async_event_previous_token').where('token_id', 'in', expired).execute();
      return valid;
    },

    async deleteReplacedBefore(cutoff) {
      const result = await db.deleteFrom('async_event_previous_token').where('replaced_at', '<=', toDbDateTime(cutoff)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
