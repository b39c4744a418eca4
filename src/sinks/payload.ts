import { AsyncEventsError } from '../errors.ts';
import type { EventPayload } from '../types.ts';
import { phpEscapeString } from './php-json.ts';

/*
 * Delivery bodies. Both formats embed the event data by concatenation, so the bytes Magento's json_encode wrote
 * reach the receiver (and the signature) unchanged; the envelope strings are escaped the way PHP would.
 */

/**
 * Upstream 4.x structured CloudEvent as cloudevents/sdk-php `JsonSerializer::serializeStructured` writes it: plain
 * `json_encode` of the normalized attributes in spec order, null ones omitted, so `application\/json` has its slash
 * escaped (the reference notes show it unescaped; real PHP output, checked in the tests, does not).
 */
export function cloudEventBody(payload: EventPayload): string {
  return (
    '{"specversion":"1.0","id":' + phpEscapeString(payload.uuid) +
    ',"source":' + phpEscapeString(String(payload.storeId)) +
    ',"type":' + phpEscapeString(payload.eventName) +
    ',"datacontenttype":"application\\/json","data":' + payload.data + '}'
  );
}

/**
 * Media type of a structured-mode CloudEvent (CloudEvents HTTP binding §3.2); the SDKs refuse `application/json`
 * as "no cloud event detected". The legacy body is plain JSON.
 */
export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const LEGACY_CONTENT_TYPE = 'application/json';

/** Upstream 3.x body. */
export function legacyBody(payload: EventPayload): string {
  return '{"data":' + payload.data + '}';
}

export interface ParsedCloudEvent {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly datacontenttype: string | undefined;
  /** The `data` member exactly as it stands in the text. */
  readonly data: string;
}

/**
 * Reads a structured CloudEvent (retry message `content`, `serialized_data`), keeping `data` as its raw text so a
 * retry sends the same bytes as the first attempt.
 */
export function parseCloudEvent(text: string): ParsedCloudEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AsyncEventsError('MESSAGE_MALFORMED', `CloudEvent content is not JSON: ${(error as Error).message}`, {}, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AsyncEventsError('MESSAGE_MALFORMED', 'CloudEvent content must be a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  const attribute = (name: string, required: boolean): string | undefined => {
    const value = record[name];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '') {
      throw new AsyncEventsError('MESSAGE_MALFORMED', `CloudEvent attribute "${name}" must be a non-empty string, got ${JSON.stringify(value)}`, { field: name });
    }
    return value;
  };
  const spans = topLevelMemberSpans(text);
  const data = spans.get('data');
  if (data === undefined) throw new AsyncEventsError('MESSAGE_MALFORMED', 'CloudEvent has no "data" member', { field: 'data' });
  return {
    specversion: attribute('specversion', true) as string,
    id: attribute('id', true) as string,
    source: attribute('source', true) as string,
    type: attribute('type', true) as string,
    datacontenttype: attribute('datacontenttype', false),
    data,
  };
}

/** Member name → raw value text of a JSON object already known to be valid; the last duplicate wins, as in JSON.parse. */
export function topLevelMemberSpans(text: string): Map<string, string> {
  const spans = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return spans;
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // ':'
    const valueEnd = skipValue(text, i);
    spans.set(key, text.slice(i, valueEnd));
    i = skipSpace(text, valueEnd);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return spans;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

function skipString(text: string, i: number): number {
  i++;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    while (i < text.length) {
      const char = text[i];
      if (char === '"') {
        i = skipString(text, i);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if (char === '}' || char === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !',}] \t\n\r'.includes(text[i] as string)) i++;
  return i;
}
