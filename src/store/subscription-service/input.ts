import { z } from 'zod';
import { SUBSCRIPTION_ORDERINGS } from '../../types.ts';

/*
 * What a subscription request may carry, in the domain's words, whatever interface it came through (REST's
 * `asyncEvent.recipient_url`, GraphQL's `input.recipientUrl`). Each interface converts its wire format into these
 * shapes and names the fields back in its own words when a check fails. New fields are added here, with their
 * checks in rules.ts. The rules (`filter`, `fields`, `headers`, `maxPerSecond`, `ordering`) are optional; null removes one
 * (`ordering` is fixed when the subscription is created).
 */

/** `recipient_url` is varchar(1024) in upstream 4.x. */
export const RECIPIENT_MAX_LENGTH = 1024;
/** Magento encrypts the token into varchar(255): nonce + MAC + base64 leave room for about 146 bytes. */
export const TOKEN_MAX_LENGTH = 128;
/** `store_id` is smallint unsigned. */
export const STORE_ID_MAX = 65535;

/** Filters and selections are short queries; the bound keeps a subscription row (and its parse) small. */
export const FILTER_MAX_LENGTH = 4096;
/** Far above what one process delivers; a higher rate would be no limit at all. */
export const MAX_PER_SECOND = 10_000;

const storeIdRange = `must be a store id between 0 and ${STORE_ID_MAX}`;

export const subscriptionFields = {
  eventName: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
  recipientUrl: z.string().trim().min(1, 'must not be empty').max(RECIPIENT_MAX_LENGTH, `must be at most ${RECIPIENT_MAX_LENGTH} characters`),
  // Deliveries are signed with the token; an empty key would make every signature forgeable.
  verificationToken: z.string().min(1, 'must not be empty').max(TOKEN_MAX_LENGTH, `is too long: must be at most ${TOKEN_MAX_LENGTH} characters`),
  sink: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  storeId: z.number().int('must be a whole number').min(0, storeIdRange).max(STORE_ID_MAX, storeIdRange),
  active: z.boolean(),
  // Our rules (table async_event_subscription_rule). Their syntax is checked by rules.ts, with positions.
  filter: z.string().trim().min(1, 'must not be empty; send null to remove the filter').max(FILTER_MAX_LENGTH, `must be at most ${FILTER_MAX_LENGTH} characters`),
  fields: z.string().trim().min(1, 'must not be empty; send null to remove the selection').max(FILTER_MAX_LENGTH, `must be at most ${FILTER_MAX_LENGTH} characters`),
  headers: z.record(z.string(), z.string({ error: 'header values must be strings' }), { error: 'must be an object of header names and string values' }),
  maxPerSecond: z
    .number({ error: 'must be a number of deliveries per second' })
    .positive('must be a positive number of deliveries per second')
    .max(MAX_PER_SECOND, `must be at most ${MAX_PER_SECOND} deliveries per second`),
  ordering: z.enum(SUBSCRIPTION_ORDERINGS, { error: `must be ${SUBSCRIPTION_ORDERINGS.map((o) => `"${o}"`).join(' or ')}, or null for no ordering` }),
} as const;

/** The rules a request may set; null removes one. */
export const RULE_FIELDS = ['filter', 'fields', 'headers', 'maxPerSecond', 'ordering'] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

/** A new subscription. `sink` defaults to http, `storeId` to 0 (every store), `active` to true. */
export const newSubscriptionSchema = z.strictObject({
  eventName: subscriptionFields.eventName,
  recipientUrl: subscriptionFields.recipientUrl,
  verificationToken: subscriptionFields.verificationToken,
  sink: subscriptionFields.sink.default('http'),
  storeId: subscriptionFields.storeId.default(0),
  active: subscriptionFields.active.default(true),
  filter: subscriptionFields.filter.nullable().optional(),
  fields: subscriptionFields.fields.nullable().optional(),
  headers: subscriptionFields.headers.nullable().optional(),
  maxPerSecond: subscriptionFields.maxPerSecond.nullable().optional(),
  ordering: subscriptionFields.ordering.nullable().optional(),
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
  filter: subscriptionFields.filter.nullable().optional(),
  fields: subscriptionFields.fields.nullable().optional(),
  headers: subscriptionFields.headers.nullable().optional(),
  maxPerSecond: subscriptionFields.maxPerSecond.nullable().optional(),
  ordering: subscriptionFields.ordering.nullable().optional(),
});

export type NewSubscriptionInput = z.input<typeof newSubscriptionSchema>;
export type SubscriptionChangeInput = z.input<typeof subscriptionChangeSchema>;
export type ValidNewSubscription = z.output<typeof newSubscriptionSchema>;
export type ValidSubscriptionChange = z.output<typeof subscriptionChangeSchema>;

/** A field of the requests above, or the subscription id an update or delete names. */
export type SubscriptionField = keyof typeof subscriptionFields | 'subscriptionId' | 'subscription';
