import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AsyncEventsError } from '../../src/errors.ts';
import { findJsonSyntaxError } from '../../src/queue/json-syntax.ts';
import { encodeRetryMessage, encodeTriggerMessage, parseRetryMessage, parseTriggerMessage, retryContentFormat } from '../../src/queue/publish.ts';
import { describeWith } from '../support/services.ts';

const known = (name: string) => ['sales.order.created', 'customer.created', 'Sales.Order'].includes(name);

function failure(run: () => unknown): AsyncEventsError {
  try {
    run();
  } catch (error) {
    if (error instanceof AsyncEventsError) return error;
    throw error;
  }
  throw new Error('expected an AsyncEventsError');
}

describe('encodeTriggerMessage', () => {
  it('writes the 3-element array of AsyncEventPublisher::publish, arguments JSON-encoded twice like PHP', () => {
    expect(encodeTriggerMessage('sales.order.created', { id: 5 }, 1)).toBe('["sales.order.created","{\\"id\\":5}",1]');
    expect(encodeTriggerMessage('sales.order.created', { id: '5' }, '1')).toBe('["sales.order.created","{\\"id\\":\\"5\\"}","1"]');
  });

  it('defaults the store id to 0 as the PHP publisher does', () => {
    expect(encodeTriggerMessage('customer.created', { customerId: 7 })).toBe('["customer.created","{\\"customerId\\":7}",0]');
  });

  it('escapes / and non-ASCII as PHP json_encode does, at both levels', () => {
    expect(encodeTriggerMessage('e', { url: 'a/b', name: 'é' }, 0)).toBe('["e","{\\"url\\":\\"a\\\\\\/b\\",\\"name\\":\\"\\\\u00e9\\"}",0]');
  });

  it('writes empty arguments as PHP writes an empty array', () => {
    expect(encodeTriggerMessage('e', {}, 0)).toBe('["e","[]",0]');
  });

  it('refuses what PHP could not have published', () => {
    expect(failure(() => encodeTriggerMessage('', {}, 0)).message).toBe('event name must be a non-empty string');
    expect(failure(() => encodeTriggerMessage('e', [1], 0)).message).toMatch(/^arguments must be an object/);
    expect(failure(() => encodeTriggerMessage('e', {}, -1)).message).toBe('store id must be a non-negative integer, got -1');
    expect(failure(() => encodeTriggerMessage('e', {}, 'default')).message).toBe('store id must be an integer or a numeric string, got the string "default"');
  });
});

describeWith(['php'], 'encodeTriggerMessage against real PHP json_encode', () => {
  const samples: { args: Record<string, unknown>; storeId: number | string }[] = [
    { args: { id: 5 }, storeId: 1 },
    { args: { id: '000000042', sku: 'a/b\\c', note: 'Žluťoučký kůň 😀 <b>&amp;</b> "quoted"\n\ttab' }, storeId: '2' },
    { args: { filter: { list: [1, 2, 3], empty: {}, none: null, yes: true, no: false }, negative: -12 }, storeId: 0 },
    { args: { control: '\u0001\u001f\u007f', unicodeEscapes: '\u2028\u2029' }, storeId: 3 },
  ];
  it.each(samples)('matches PHP byte for byte: %j', ({ args, storeId }) => {
    const php = `$a = json_decode($argv[1], true); $s = json_decode($argv[2]); echo json_encode(['sales.order.created', json_encode($a), $s]);`;
    const expected = execFileSync('php', ['-r', php, JSON.stringify(args), JSON.stringify(storeId)], { encoding: 'utf8' });
    expect(encodeTriggerMessage('sales.order.created', args, storeId)).toBe(expected);
  });
});

describe('parseTriggerMessage', () => {
  it('reads the 3-element form with an int store id (upstream 3.x)', () => {
    expect(parseTriggerMessage('["sales.order.created","{\\"id\\":5}",1]', known)).toEqual({ eventName: 'sales.order.created', arguments: { id: 5 }, storeId: 1 });
  });

  it('reads the 3-element form with a string store id (upstream 4.x)', () => {
    expect(parseTriggerMessage('["customer.created","{\\"customerId\\":\\"7\\"}","2"]', known)).toEqual({
      eventName: 'customer.created',
      arguments: { customerId: '7' },
      storeId: '2',
    });
  });

  it('reads the 2-element form of mageos-common-async-events as store 0', () => {
    expect(parseTriggerMessage('["sales.order.created","{\\"id\\":\\"5\\"}"]', known)).toEqual({ eventName: 'sales.order.created', arguments: { id: '5' }, storeId: 0 });
  });

  it("reads PHP's empty array as no arguments and a null store id as 0", () => {
    expect(parseTriggerMessage('["sales.order.created","[]",null]', known)).toEqual({ eventName: 'sales.order.created', arguments: {}, storeId: 0 });
  });

  it('round-trips what encodeTriggerMessage writes', () => {
    const args = { id: 'a/b', name: 'Ž😀' };
    expect(parseTriggerMessage(encodeTriggerMessage('Sales.Order', args, '3'), known)).toEqual({ eventName: 'Sales.Order', arguments: args, storeId: '3' });
  });

  const malformed: [string, string, string][] = [
    ['not JSON', '["sales.order.created", {', 'trigger message is not JSON: expected a property name in double quotes, found end of input at position 25'],
    ['empty body', '', 'trigger message is not JSON: expected a JSON value, found end of input at position 0'],
    ['trailing text', '["a","{}",1] x', 'trigger message is not JSON: unexpected text after the JSON value, found "x" at position 13'],
    ['an object', '{"event":"sales.order.created"}', 'trigger message must be a JSON array [eventName, argumentsJson, storeId?], got an object'],
    ['one element', '["sales.order.created"]', 'trigger message must have 2 or 3 elements [eventName, argumentsJson, storeId?], got 1'],
    ['four elements', '["sales.order.created","{}",1,2]', 'trigger message must have 2 or 3 elements [eventName, argumentsJson, storeId?], got 4'],
    ['a numeric name', '[5,"{}",1]', 'trigger message element 0 (event name) must be a string, got a number (5)'],
    ['an empty name', '["","{}",1]', 'trigger message element 0 (event name) is empty'],
    ['arguments as an object', '["sales.order.created",{"id":5},1]', 'trigger message element 1 (arguments) must be a string of JSON, got an object'],
    ['arguments not JSON', '["sales.order.created","{id:5}",1]', 'trigger message element 1 (arguments) is not JSON: expected a property name in double quotes, found "i" at position 1'],
    ['arguments a JSON list', '["sales.order.created","[5]",1]', 'trigger message element 1 (arguments) must be a JSON object of named arguments, got an array'],
    ['arguments a JSON number', '["sales.order.created","5",1]', 'trigger message element 1 (arguments) must be a JSON object of named arguments, got a number (5)'],
    ['a fractional store id', '["sales.order.created","{}",1.5]', 'trigger message element 2 (store id) must be a non-negative integer, got 1.5'],
    ['a store code', '["sales.order.created","{}","default"]', 'trigger message element 2 (store id) must be an integer or a numeric string, got the string "default"'],
    ['a boolean store id', '["sales.order.created","{}",true]', 'trigger message element 2 (store id) must be an integer or a numeric string, got a boolean (true)'],
  ];
  it.each(malformed)('refuses %s with MESSAGE_MALFORMED saying what is wrong', (_kind, body, message) => {
    const error = failure(() => parseTriggerMessage(body, known));
    expect(error.code).toBe('MESSAGE_MALFORMED');
    expect(error.message).toBe(message);
  });

  it('names the position of a JSON error in details', () => {
    expect(failure(() => parseTriggerMessage('[1 2]', known)).details).toEqual({ position: 3 });
  });

  it('refuses an event no async_events.xml declares, case-sensitively, with EVENT_UNKNOWN', () => {
    const error = failure(() => parseTriggerMessage('["sales.order.Created","{}",1]', known));
    expect(error.code).toBe('EVENT_UNKNOWN');
    expect(error.message).toBe(`event "sales.order.Created" is not declared in any enabled module's etc/async_events.xml`);
  });
});

describe('parseRetryMessage', () => {
  const uuid = '6f1c2a8e-5d0b-4c4e-9a39-0d1a2b3c4d5e';

  it('reads an upstream 3.x retry (content = JSON of the event data)', () => {
    const body = `{"subscription_id":3,"death_count":2,"content":"{\\"entity_id\\":5,\\"increment_id\\":\\"000000005\\"}","uuid":"${uuid}"}`;
    const message = parseRetryMessage(body);
    expect(message).toEqual({ subscription_id: 3, death_count: 2, content: '{"entity_id":5,"increment_id":"000000005"}', uuid });
    expect(retryContentFormat(message.content)).toBe('legacy');
  });

  it('reads an upstream 4.x retry (content = structured CloudEvent)', () => {
    const event = `{"specversion":"1.0","id":"${uuid}","source":"1","type":"sales.order.created","datacontenttype":"application/json","data":{"entity_id":5}}`;
    const body = `{"subscription_id":3,"death_count":1,"content":${JSON.stringify(event)},"uuid":"${uuid}"}`;
    const message = parseRetryMessage(body);
    expect(message.content).toBe(event);
    expect(retryContentFormat(message.content)).toBe('cloudevents');
  });

  it('round-trips what encodeRetryMessage writes, in upstream field order with PHP escaping', () => {
    const message = { subscription_id: 1, death_count: 4, content: '{"url":"https://x.test/a"}', uuid };
    const body = encodeRetryMessage(message);
    expect(body).toBe(`{"subscription_id":1,"death_count":4,"content":"{\\"url\\":\\"https:\\/\\/x.test\\/a\\"}","uuid":"${uuid}"}`);
    expect(parseRetryMessage(body)).toEqual(message);
  });

  const malformed: [string, string, string][] = [
    ['not JSON', '{"subscription_id":1,', 'retry message is not JSON: expected a property name in double quotes, found end of input at position 21'],
    ['an array', '[1,2]', 'retry message must be a JSON object {"subscription_id","death_count","content","uuid"}, got an array'],
    ['an upstream kill message (no uuid)', '{"subscription_id":1,"death_count":0,"content":"{}"}', 'retry message field "uuid" must be a non-empty string, got nothing'],
    ['a negative death count', `{"subscription_id":1,"death_count":-1,"content":"{}","uuid":"${uuid}"}`, 'retry message field "death_count" must be a non-negative integer, got a number (-1)'],
    ['a missing subscription', `{"death_count":1,"content":"{}","uuid":"${uuid}"}`, 'retry message field "subscription_id" must be a non-negative integer, got nothing'],
    ['content as an object', `{"subscription_id":1,"death_count":1,"content":{"a":1},"uuid":"${uuid}"}`, 'retry message field "content" must be a string of JSON, got an object'],
    ['content not JSON', `{"subscription_id":1,"death_count":1,"content":"{a","uuid":"${uuid}"}`, 'retry message field "content" is not JSON: expected a property name in double quotes, found "a" at position 1'],
  ];
  it.each(malformed)('refuses %s with MESSAGE_MALFORMED', (_kind, body, message) => {
    const error = failure(() => parseRetryMessage(body));
    expect(error.code).toBe('MESSAGE_MALFORMED');
    expect(error.message).toBe(message);
  });
});

describe('findJsonSyntaxError', () => {
  it.each([
    ['{"a":1}', undefined],
    [' [1, -2.5e+3, "x\\u00e9", true, false, null, {}] ', undefined],
    ['[1,]', { position: 3, reason: 'expected a JSON value, found "]"' }],
    ['[01]', { position: 2, reason: `expected ',' or ']' after array element, found "1"` }],
    ['"a\\x"', { position: 3, reason: 'invalid escape in string, found "x"' }],
    ['"tab\there"', { position: 4, reason: 'control character in string (must be escaped), found "\\t"' }],
    ['tru', { position: 3, reason: 'expected "true", found end of input' }],
    ['1.', { position: 2, reason: 'expected a digit, found end of input' }],
  ])('%j → %j', (text, expected) => {
    expect(findJsonSyntaxError(text)).toEqual(expected);
    if (expected === undefined) expect(() => JSON.parse(text) as unknown).not.toThrow();
    else expect(() => JSON.parse(text) as unknown).toThrow();
  });
});
