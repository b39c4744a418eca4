import type { ErrorCode } from '../../src/errors.ts';
import type { SubscriptionField } from '../../src/store/subscription-service/index.ts';

/*
 * Good and bad subscription requests in the domain's words, with the verdict every interface must reach: OK, or
 * the error code and the field it names. test/api/subscription-parity.test.ts sends each through REST and
 * GraphQL. Only what both wire formats can express is here (GraphQL's types already refuse a string store id).
 */

export interface SubscriptionRequest {
  readonly name: string;
  /** `update` changes the http subscription of sales.order.created the test creates first; `missing` names id 999999. */
  readonly op: 'create' | 'update' | 'update-missing';
  readonly input: Readonly<Record<string, unknown>>;
  /** Which caller sends it: the API token (default) or an integration without Magento_Sales::sales. */
  readonly as?: 'admin' | 'limited';
  readonly verdict: { readonly code: 'OK' } | { readonly code: ErrorCode; readonly field?: SubscriptionField };
}

const good = { eventName: 'customer.created', recipientUrl: 'https://receiver.example.com/hook', verificationToken: 'tok-parity-secret', sink: 'http' };

export const SUBSCRIPTION_REQUESTS: readonly SubscriptionRequest[] = [
  { name: 'a valid http subscription', op: 'create', input: good, verdict: { code: 'OK' } },
  { name: 'a valid subscription for one store', op: 'create', input: { ...good, storeId: 3 }, verdict: { code: 'OK' } },
  { name: 'an event no async_events.xml declares', op: 'create', input: { ...good, eventName: 'no.such.event' }, verdict: { code: 'EVENT_UNKNOWN', field: 'eventName' } },
  { name: 'an event name in the wrong case', op: 'create', input: { ...good, eventName: 'Customer.Created' }, verdict: { code: 'EVENT_UNKNOWN', field: 'eventName' } },
  { name: 'a blank event name', op: 'create', input: { ...good, eventName: '   ' }, verdict: { code: 'VALIDATION_FAILED', field: 'eventName' } },
  { name: 'an unknown sink', op: 'create', input: { ...good, sink: 'carrier-pigeon' }, verdict: { code: 'SINK_UNKNOWN', field: 'sink' } },
  { name: 'a sink that cannot deliver now', op: 'create', input: { ...good, sink: 'eventbridge', recipientUrl: 'arn:aws:events:eu-west-1:1:event-bus/x' }, verdict: { code: 'SINK_NOT_CONFIGURED', field: 'sink' } },
  { name: 'a recipient that is not a URL', op: 'create', input: { ...good, recipientUrl: 'receiver.example.com/hook' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'an ftp recipient for the http sink', op: 'create', input: { ...good, recipientUrl: 'ftp://files.example.com/x' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'a javascript: recipient', op: 'create', input: { ...good, recipientUrl: 'javascript:alert(1)' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'credentials in the recipient URL', op: 'create', input: { ...good, recipientUrl: 'https://user:pass@receiver.example.com/hook' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'a user name alone in the recipient URL', op: 'create', input: { ...good, recipientUrl: 'https://user@receiver.example.com/hook' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'a recipient URL over 1024 characters', op: 'create', input: { ...good, recipientUrl: `https://receiver.example.com/${'a'.repeat(1100)}` }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'a loopback IP recipient', op: 'create', input: { ...good, recipientUrl: 'http://127.0.0.1:8080/hook' }, verdict: { code: 'TARGET_FORBIDDEN', field: 'recipientUrl' } },
  { name: 'a metadata-endpoint recipient as mapped IPv6', op: 'create', input: { ...good, recipientUrl: 'http://[::ffff:169.254.169.254]/latest' }, verdict: { code: 'TARGET_FORBIDDEN', field: 'recipientUrl' } },
  { name: 'an empty verification token', op: 'create', input: { ...good, verificationToken: '' }, verdict: { code: 'VALIDATION_FAILED', field: 'verificationToken' } },
  { name: 'a verification token too long to store', op: 'create', input: { ...good, verificationToken: 'x'.repeat(200) }, verdict: { code: 'VALIDATION_FAILED', field: 'verificationToken' } },
  { name: 'a negative store id', op: 'create', input: { ...good, storeId: -1 }, verdict: { code: 'VALIDATION_FAILED', field: 'storeId' } },
  { name: 'a store id over 65535', op: 'create', input: { ...good, storeId: 70000 }, verdict: { code: 'VALIDATION_FAILED', field: 'storeId' } },
  { name: 'an event whose resources the caller lacks', op: 'create', as: 'limited', input: { ...good, eventName: 'sales.order.created' }, verdict: { code: 'FORBIDDEN' } },
  { name: 'an event without resources, by the limited caller', op: 'create', as: 'limited', input: good, verdict: { code: 'OK' } },
  // Changes to an existing subscription (of sales.order.created, which needs Magento_Sales::sales).
  { name: 'a new recipient', op: 'update', input: { recipientUrl: 'https://other.example.com/hook' }, verdict: { code: 'OK' } },
  { name: 'switching it off', op: 'update', input: { active: false }, verdict: { code: 'OK' } },
  { name: 'a recipient that is not a URL, on update', op: 'update', input: { recipientUrl: 'not a url' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'credentials in the recipient URL, on update', op: 'update', input: { recipientUrl: 'https://u:p@other.example.com/' }, verdict: { code: 'VALIDATION_FAILED', field: 'recipientUrl' } },
  { name: 'a private IP recipient, on update', op: 'update', input: { recipientUrl: 'https://10.1.2.3/hook' }, verdict: { code: 'TARGET_FORBIDDEN', field: 'recipientUrl' } },
  { name: 'an unknown sink, on update', op: 'update', input: { sink: 'smoke-signal' }, verdict: { code: 'SINK_UNKNOWN', field: 'sink' } },
  { name: 'a sink that cannot deliver now, on update', op: 'update', input: { sink: 'eventbridge' }, verdict: { code: 'SINK_NOT_CONFIGURED', field: 'sink' } },
  { name: 'an empty token, on update', op: 'update', input: { verificationToken: '' }, verdict: { code: 'VALIDATION_FAILED', field: 'verificationToken' } },
  { name: 'a store id over 65535, on update', op: 'update', input: { storeId: 70000 }, verdict: { code: 'VALIDATION_FAILED', field: 'storeId' } },
  { name: 'nothing to change', op: 'update', input: {}, verdict: { code: 'VALIDATION_FAILED', field: 'subscription' } },
  { name: 'a subscription that does not exist', op: 'update-missing', input: { active: false }, verdict: { code: 'SUBSCRIPTION_NOT_FOUND', field: 'subscriptionId' } },
  { name: 'a change by a caller without the event\'s resources', op: 'update', as: 'limited', input: { recipientUrl: 'https://attacker.example.com/' }, verdict: { code: 'FORBIDDEN' } },
  { name: 'a valid change by a caller without the event\'s resources', op: 'update', as: 'limited', input: { active: true }, verdict: { code: 'FORBIDDEN' } },
  // Rules (issue 16): wildcard events, filter, fields, headers, max_per_second.
  { name: 'a wildcard pattern matching declared events', op: 'create', input: { ...good, eventName: 'customer.*' }, verdict: { code: 'OK' } },
  { name: 'a suffix pattern', op: 'create', input: { ...good, eventName: '*.created' }, verdict: { code: 'OK' } },
  { name: 'a pattern matching no declared event', op: 'create', input: { ...good, eventName: 'catalog.*' }, verdict: { code: 'EVENT_UNKNOWN', field: 'eventName' } },
  { name: 'a pattern in the wrong case', op: 'create', input: { ...good, eventName: 'Customer.*' }, verdict: { code: 'EVENT_UNKNOWN', field: 'eventName' } },
  { name: 'a broken pattern', op: 'create', input: { ...good, eventName: 'sales.(*' }, verdict: { code: 'VALIDATION_FAILED', field: 'eventName' } },
  { name: 'a pattern covering an event whose resources the caller lacks', op: 'create', as: 'limited', input: { ...good, eventName: '*.created' }, verdict: { code: 'FORBIDDEN' } },
  { name: 'a pattern covering only events the limited caller may see', op: 'create', as: 'limited', input: { ...good, eventName: 'customer.*' }, verdict: { code: 'OK' } },
  { name: 'a filter', op: 'create', input: { ...good, filter: 'data.status: processing AND data.grand_total:>100' }, verdict: { code: 'OK' } },
  { name: 'a filter on event_name and store_id', op: 'create', input: { ...good, filter: 'event_name:customer.* AND store_id:[1 TO 5]' }, verdict: { code: 'OK' } },
  { name: 'a filter with a syntax error', op: 'create', input: { ...good, filter: 'data.status:(processing' }, verdict: { code: 'VALIDATION_FAILED', field: 'filter' } },
  { name: 'a filter naming a log field it cannot know', op: 'create', input: { ...good, filter: 'success:true' }, verdict: { code: 'VALIDATION_FAILED', field: 'filter' } },
  { name: 'an empty filter', op: 'create', input: { ...good, filter: '  ' }, verdict: { code: 'VALIDATION_FAILED', field: 'filter' } },
  { name: 'a fields selection', op: 'create', input: { ...good, fields: 'entity_id,increment_id,items[sku,qty_ordered]' }, verdict: { code: 'OK' } },
  { name: 'a fields selection left unclosed', op: 'create', input: { ...good, fields: 'entity_id,items[sku' }, verdict: { code: 'VALIDATION_FAILED', field: 'fields' } },
  { name: 'a fields selection with a space', op: 'create', input: { ...good, fields: 'entity_id, sku' }, verdict: { code: 'VALIDATION_FAILED', field: 'fields' } },
  { name: 'extra headers', op: 'create', input: { ...good, headers: { 'X-Api-Key': 'k-123', 'X-Tenant': 'eu' } }, verdict: { code: 'OK' } },
  { name: 'a header name with an underscore', op: 'create', input: { ...good, headers: { X_Api_Key: 'k' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a reserved header (content-type)', op: 'create', input: { ...good, headers: { 'Content-Type': 'text/plain' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a reserved header (the signature)', op: 'create', input: { ...good, headers: { 'x-magento-signature': 'forged' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a reserved header (host)', op: 'create', input: { ...good, headers: { Host: 'evil.example.com' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a header value with a line break', op: 'create', input: { ...good, headers: { 'X-Note': 'a\r\nX-Injected: 1' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'the same header twice in other case', op: 'create', input: { ...good, headers: { 'X-Tenant': 'a', 'x-tenant': 'b' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a rate limit', op: 'create', input: { ...good, maxPerSecond: 20 }, verdict: { code: 'OK' } },
  { name: 'a fractional rate limit', op: 'create', input: { ...good, maxPerSecond: 0.5 }, verdict: { code: 'OK' } },
  { name: 'a rate of zero', op: 'create', input: { ...good, maxPerSecond: 0 }, verdict: { code: 'VALIDATION_FAILED', field: 'maxPerSecond' } },
  { name: 'a negative rate', op: 'create', input: { ...good, maxPerSecond: -3 }, verdict: { code: 'VALIDATION_FAILED', field: 'maxPerSecond' } },
  { name: 'a rate beyond any limit', op: 'create', input: { ...good, maxPerSecond: 1e9 }, verdict: { code: 'VALIDATION_FAILED', field: 'maxPerSecond' } },
  { name: 'every rule at once on a pattern', op: 'create', input: { ...good, eventName: 'customer.*', filter: 'data.group_id:1', fields: 'id,email', headers: { 'X-Api-Key': 'k' }, maxPerSecond: 5 }, verdict: { code: 'OK' } },
  { name: 'a filter, on update', op: 'update', input: { filter: 'data.status: complete' }, verdict: { code: 'OK' } },
  { name: 'a filter with a syntax error, on update', op: 'update', input: { filter: 'data.status: AND' }, verdict: { code: 'VALIDATION_FAILED', field: 'filter' } },
  { name: 'removing the filter', op: 'update', input: { filter: null }, verdict: { code: 'OK' } },
  { name: 'a fields selection, on update', op: 'update', input: { fields: 'entity_id' }, verdict: { code: 'OK' } },
  { name: 'a bad fields selection, on update', op: 'update', input: { fields: ']' }, verdict: { code: 'VALIDATION_FAILED', field: 'fields' } },
  { name: 'a reserved header, on update', op: 'update', input: { headers: { 'User-Agent': 'x' } }, verdict: { code: 'VALIDATION_FAILED', field: 'headers' } },
  { name: 'a rate of zero, on update', op: 'update', input: { maxPerSecond: 0 }, verdict: { code: 'VALIDATION_FAILED', field: 'maxPerSecond' } },
  { name: 'a rate, on update', op: 'update', input: { maxPerSecond: 3 }, verdict: { code: 'OK' } },
  { name: 'ordering by entity', op: 'create', input: { ...good, ordering: 'entity' }, verdict: { code: 'OK' } },
  { name: 'ordering by entity on a pattern, with a filter', op: 'create', input: { ...good, eventName: 'customer.*', ordering: 'entity', filter: 'data.group_id:1' }, verdict: { code: 'OK' } },
  { name: 'no ordering, said outright', op: 'create', input: { ...good, ordering: null }, verdict: { code: 'OK' } },
  { name: 'ordering switched on later', op: 'update', input: { ordering: 'entity' }, verdict: { code: 'VALIDATION_FAILED', field: 'ordering' } },
  { name: 'no ordering repeated on update, with a change', op: 'update', input: { ordering: null, active: false }, verdict: { code: 'OK' } },
];

/** The HTTP status REST answers each error code with. */
export const REST_STATUS: Partial<Record<ErrorCode | 'OK', number>> = {
  OK: 200,
  VALIDATION_FAILED: 400,
  EVENT_UNKNOWN: 400,
  SINK_UNKNOWN: 400,
  SINK_NOT_CONFIGURED: 400,
  TARGET_FORBIDDEN: 400,
  FORBIDDEN: 403,
  SUBSCRIPTION_NOT_FOUND: 404,
};

export const REST_FIELD: Readonly<Record<SubscriptionField, string>> = {
  eventName: 'asyncEvent.event_name',
  recipientUrl: 'asyncEvent.recipient_url',
  verificationToken: 'asyncEvent.verification_token',
  sink: 'asyncEvent.metadata',
  storeId: 'asyncEvent.store_id',
  active: 'asyncEvent.status',
  filter: 'asyncEvent.filter',
  fields: 'asyncEvent.fields',
  headers: 'asyncEvent.headers',
  maxPerSecond: 'asyncEvent.max_per_second',
  ordering: 'asyncEvent.ordering',
  subscriptionId: 'subscriptionId',
  subscription: 'asyncEvent',
};

export const GRAPHQL_FIELD: Readonly<Record<SubscriptionField, string>> = {
  eventName: 'input.eventName',
  recipientUrl: 'input.recipientUrl',
  verificationToken: 'input.verificationToken',
  sink: 'input.sink',
  storeId: 'input.storeId',
  active: 'input.active',
  filter: 'input.filter',
  fields: 'input.fields',
  headers: 'input.headers',
  maxPerSecond: 'input.maxPerSecond',
  ordering: 'input.ordering',
  subscriptionId: 'id',
  subscription: 'input',
};

/** The request body REST expects (upstream's snake_case names under `asyncEvent`). */
export function restBody(input: Readonly<Record<string, unknown>>): { asyncEvent: Record<string, unknown> } {
  const names: Record<string, string> = { eventName: 'event_name', recipientUrl: 'recipient_url', verificationToken: 'verification_token', sink: 'metadata', storeId: 'store_id', active: 'status', maxPerSecond: 'max_per_second' };
  return { asyncEvent: Object.fromEntries(Object.entries(input).map(([key, value]) => [names[key] ?? key, value])) };
}

/** The GraphQL input: the same names, headers as a list of name/value pairs, an ordering as its enum value. */
export function graphqlInput(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { headers, ...others } = input;
  const rest = typeof others.ordering === 'string' && /^[a-z]+$/.test(others.ordering) ? { ...others, ordering: others.ordering.toUpperCase() } : others;
  if (headers === undefined || headers === null) return headers === null ? { ...rest, headers: null } : rest;
  return { ...rest, headers: Object.entries(headers as Record<string, string>).map(([name, value]) => ({ name, value })) };
}
