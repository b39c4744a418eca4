import { AsyncEventsError } from '../errors.ts';
import type { RetryMessage, StoreId, TriggerMessage } from '../types.ts';
import { findJsonSyntaxError } from './json-syntax.ts';
import { phpArrayJsonEncode } from './php-array-json.ts';

/*
 * The two message bodies upstream puts on its queues, byte for byte as PHP writes them, and their parsers.
 *
 * Trigger (AsyncEventPublisher::publish → Magento's MessageEncoder, both json_encode with default flags):
 *   ["sales.order.created","{\"id\":\"5\"}",1]   element 1 is itself JSON, element 2 (store id) is an int (3.x),
 *   a string (4.x) or absent (mageos-common-async-events publishes the 2-element form).
 * Retry (RetryManager → AmqpPublisher, json_encode): {"subscription_id":1,"death_count":2,"content":"…","uuid":"…"}
 *   with `content` the JSON of the event data (3.x) or the structured CloudEvent (4.x and ours).
 */

/**
 * The trigger message PHP would publish for `AsyncEventPublisher::publish($eventName, $args, $storeId)`. Without a
 * store id the element is 0, as the publisher's default argument makes it; a given store id keeps its type.
 */
export function encodeTriggerMessage(eventName: string, args: object, storeId: StoreId = 0): string {
  if (typeof eventName !== 'string' || eventName === '') {
    throw new AsyncEventsError('MESSAGE_MALFORMED', 'event name must be a non-empty string', { field: 'eventName' });
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new AsyncEventsError('MESSAGE_MALFORMED', 'arguments must be an object of named service arguments, e.g. {"id":5}', { field: 'arguments' });
  }
  const storeProblem = storeIdProblem(storeId);
  if (storeProblem) throw new AsyncEventsError('MESSAGE_MALFORMED', `store id ${storeProblem}`, { field: 'storeId' });
  return phpArrayJsonEncode([eventName, phpArrayJsonEncode(args), storeId]);
}

/** Upstream's retry body, fields in upstream's order. */
export function encodeRetryMessage(message: RetryMessage): string {
  return phpArrayJsonEncode({
    subscription_id: message.subscription_id,
    death_count: message.death_count,
    content: message.content,
    uuid: message.uuid,
  });
}

function malformed(message: string, details: Record<string, unknown> = {}): AsyncEventsError {
  return new AsyncEventsError('MESSAGE_MALFORMED', message, details);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** JSON.parse with a reason that names the position, or a MESSAGE_MALFORMED error. */
function parseJson(text: string, what: string, details: Record<string, unknown>): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // Only a message that fails is scanned again, for a reason with a reliable position.
    const problem = findJsonSyntaxError(text);
    if (problem) {
      throw malformed(`${what} is not JSON: ${problem.reason} at position ${problem.position}`, { ...details, position: problem.position });
    }
    throw malformed(`${what} is not JSON: ${(error as Error).message}`, details);
  }
}

function storeIdProblem(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? undefined : `must be a non-negative integer, got ${value}`;
  }
  if (typeof value === 'string') {
    return /^(0|[1-9][0-9]{0,9})$/.test(value) ? undefined : `must be an integer or a numeric string, got the string ${JSON.stringify(value)}`;
  }
  return `must be an integer or a numeric string, got ${typeName(value)}`;
}

/**
 * Parses a trigger message body. Throws AsyncEventsError `MESSAGE_MALFORMED` saying exactly what is wrong, or
 * `EVENT_UNKNOWN` when `knownEvent` does not know the name (names are case-sensitive).
 *
 * Accepted like upstream's handler does: 2 or 3 elements, store id int or numeric string (null counts as 0, as
 * PHP's `$message[2] ?? 0` does), arguments `[]` (PHP's empty array) as no arguments.
 */
export function parseTriggerMessage(body: string, knownEvent: (name: string) => boolean): TriggerMessage {
  const message = parseJson(body, 'trigger message', {});
  if (!Array.isArray(message)) {
    throw malformed(`trigger message must be a JSON array [eventName, argumentsJson, storeId?], got ${typeName(message)}`);
  }
  if (message.length < 2 || message.length > 3) {
    throw malformed(`trigger message must have 2 or 3 elements [eventName, argumentsJson, storeId?], got ${message.length}`, { length: message.length });
  }
  const [eventName, argumentsJson, rawStoreId] = message as unknown[];
  if (typeof eventName !== 'string') {
    throw malformed(`trigger message element 0 (event name) must be a string, got ${typeName(eventName)}`, { element: 0 });
  }
  if (eventName === '') throw malformed('trigger message element 0 (event name) is empty', { element: 0 });
  if (typeof argumentsJson !== 'string') {
    throw malformed(`trigger message element 1 (arguments) must be a string of JSON, got ${typeName(argumentsJson)}`, { element: 1 });
  }
  const args = parseJson(argumentsJson, 'trigger message element 1 (arguments)', { element: 1 });
  const isEmptyPhpArray = Array.isArray(args) && args.length === 0;
  if (!isEmptyPhpArray && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    throw malformed(`trigger message element 1 (arguments) must be a JSON object of named arguments, got ${typeName(args)}`, { element: 1 });
  }
  let storeId: StoreId = 0;
  if (rawStoreId !== undefined && rawStoreId !== null) {
    const problem = storeIdProblem(rawStoreId);
    if (problem) throw malformed(`trigger message element 2 (store id) ${problem}`, { element: 2 });
    storeId = rawStoreId as StoreId;
  }
  if (!knownEvent(eventName)) {
    throw new AsyncEventsError('EVENT_UNKNOWN', `event "${eventName}" is not declared in any enabled module's etc/async_events.xml`, { eventName });
  }
  return { eventName, arguments: isEmptyPhpArray ? {} : (args as Record<string, unknown>), storeId };
}

function integerField(record: Record<string, unknown>, field: string): number {
  const value = record[field];
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(value)) return Number(value);
  throw malformed(`retry message field "${field}" must be a non-negative integer, got ${value === undefined ? 'nothing' : typeName(value)}`, { field });
}

/**
 * Parses a retry message body (ours, or one upstream 3.x/4.x left in `event.failover.retry`). `content` is kept as
 * the raw string; see `retryContentFormat` for which of the two formats it is. Throws `MESSAGE_MALFORMED`.
 */
export function parseRetryMessage(body: string): RetryMessage {
  const message = parseJson(body, 'retry message', {});
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw malformed(`retry message must be a JSON object {"subscription_id","death_count","content","uuid"}, got ${typeName(message)}`);
  }
  const record = message as Record<string, unknown>;
  const subscriptionId = integerField(record, 'subscription_id');
  const deathCount = integerField(record, 'death_count');
  const content = record.content;
  if (typeof content !== 'string') {
    throw malformed(`retry message field "content" must be a string of JSON, got ${content === undefined ? 'nothing' : typeName(content)}`, { field: 'content' });
  }
  parseJson(content, 'retry message field "content"', { field: 'content' });
  const uuid = record.uuid;
  if (typeof uuid !== 'string' || uuid === '') {
    throw malformed(`retry message field "uuid" must be a non-empty string, got ${uuid === undefined ? 'nothing' : typeName(uuid)}`, { field: 'uuid' });
  }
  return { subscription_id: subscriptionId, death_count: deathCount, content, uuid };
}

/**
 * Which upstream format a retry message's content is in: `cloudevents` (4.x and ours: the structured CloudEvent,
 * with `specversion`, `id`, `type`) or `legacy` (3.x: the JSON of the event data alone).
 */
export function retryContentFormat(content: string): 'cloudevents' | 'legacy' {
  try {
    const parsed = JSON.parse(content) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      if (typeof record.specversion === 'string' && typeof record.id === 'string' && typeof record.type === 'string') return 'cloudevents';
    }
  } catch {
    // Not JSON at all: parseRetryMessage reports that; here it is simply not a CloudEvent.
  }
  return 'legacy';
}
