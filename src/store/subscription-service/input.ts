import { z } from 'zod';

/*
 * What a subscription request may carry, in the domain's words, whatever interface it came through (REST's
 * `asyncEvent.recipient_url`, GraphQL's `input.recipientUrl`). Each interface converts its wire format into these
 * shapes and names the fields back in its own words when a check fails. New fields (headers, filters, rate
 * limits…) are added here, with their checks in rules.ts.
 */

/** `recipient_url` is varchar(1024) in upstream 4.x. */
export const RECIPIENT_MAX_LENGTH = 1024;
/** Magento encrypts the token into varchar(255): nonce + MAC + base64 leave room for about 146 bytes. */
export const TOKEN_MAX_LENGTH = 128;
/** `store_id` is smallint unsigned. */
export const STORE_ID_MAX = 65535;

const storeIdRange = `must be a store id between 0 and ${STORE_ID_MAX}`;

export const subscriptionFields = {
  eventName: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
  recipientUrl: z.string().trim().min(1, 'must not be empty').max(RECIPIENT_MAX_LENGTH, `must be at most ${RECIPIENT_MAX_LENGTH} characters`),
  // Deliveries are signed with the token; an empty key would make every signature forgeable.
  verificationToken: z.string().min(1, 'must not be empty').max(TOKEN_MAX_LENGTH, `is too long: must be at most ${TOKEN_MAX_LENGTH} characters`),
  sink: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  storeId: z.number().int('must be a whole number').min(0, storeIdRange).max(STORE_ID_MAX, storeIdRange),
  active: z.boolean(),
} as const;

/** A new subscription. `sink` defaults to http, `storeId` to 0 (every store), `active` to true. */
export const newSubscriptionSchema = z.strictObject({
  eventName: subscriptionFields.eventName,
  recipientUrl: subscriptionFields.recipientUrl,
  verificationToken: subscriptionFields.verificationToken,
  sink: subscriptionFields.sink.default('http'),
  storeId: subscriptionFields.storeId.default(0),
  active: subscriptionFields.active.default(true),
});

/**
 * A change to a subscription: fields left out keep their value. `eventName`, when given, must be the stored one
 * (upstream clients send the whole object back); a subscription never moves to another event.
 */
export const subscriptionChangeSchema = z.strictObject({
  eventName: subscriptionFields.eventName.optional(),
  recipientUrl: subscriptionFields.recipientUrl.optional(),
  verificationToken: subscriptionFields.verificationToken.optional(),
  sink: subscriptionFields.sink.optional(),
  storeId: subscriptionFields.storeId.optional(),
  active: subscriptionFields.active.optional(),
});

export type NewSubscriptionInput = z.input<typeof newSubscriptionSchema>;
export type SubscriptionChangeInput = z.input<typeof subscriptionChangeSchema>;
export type ValidNewSubscription = z.output<typeof newSubscriptionSchema>;
export type ValidSubscriptionChange = z.output<typeof subscriptionChangeSchema>;

/** A field of the requests above, or the subscription id an update or delete names. */
export type SubscriptionField = keyof typeof subscriptionFields | 'subscriptionId' | 'subscription';
