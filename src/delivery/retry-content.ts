import type { EventPayload, PayloadFormat } from '../types.ts';
import { cloudEventBody, legacyBody } from '../sinks/payload.ts';

/*
 * The `content` of a retry message and the `serialized_data` of a log row carry what a chain delivers. Upstream
 * 3.x wrote the bare event data (content) and `{"data":…}` (serialized_data); 4.x wrote the structured CloudEvent
 * in both. We write the form of the configured payload format and read all of them, so chains started by the PHP
 * module continue here.
 */

export function retryContent(payload: EventPayload, format: PayloadFormat): string {
  return format === 'cloudevents' ? cloudEventBody(payload) : payload.data;
}

export function serializedData(payload: EventPayload, format: PayloadFormat): string {
  return format === 'cloudevents' ? cloudEventBody(payload) : legacyBody(payload);
}

interface Fallback {
  readonly uuid: string;
  readonly eventName: string;
  readonly storeId: string | number;
}

/** Rebuilds the payload from retry `content` (3.x data or 4.x CloudEvent). */
export function payloadFromRetryContent(content: string, fallback: Fallback): EventPayload {
  const cloudEvent = asCloudEvent(content);
  if (cloudEvent) return { uuid: fallback.uuid, eventName: cloudEvent.type ?? fallback.eventName, storeId: cloudEvent.source ?? fallback.storeId, data: cloudEvent.data };
  return { uuid: fallback.uuid, eventName: fallback.eventName, storeId: fallback.storeId, data: content };
}

/** Rebuilds the payload from a log row's `serialized_data` (3.x `{"data":…}` or a CloudEvent), for replay. */
export function payloadFromSerializedData(serialized: string, fallback: Fallback): EventPayload {
  const cloudEvent = asCloudEvent(serialized);
  if (cloudEvent) return { uuid: fallback.uuid, eventName: cloudEvent.type ?? fallback.eventName, storeId: cloudEvent.source ?? fallback.storeId, data: cloudEvent.data };
  const data = rawMember(serialized, 'data');
  return { uuid: fallback.uuid, eventName: fallback.eventName, storeId: fallback.storeId, data: data ?? serialized };
}

function asCloudEvent(text: string): { type?: string; source?: string; data: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  if (record.specversion === undefined) return undefined;
  const data = rawMember(text, 'data') ?? 'null';
  return {
    type: typeof record.type === 'string' ? record.type : undefined,
    source: typeof record.source === 'string' ? record.source : undefined,
    data,
  };
}

/**
 * The raw JSON text of the top-level member `name` of an object, without re-serialising it, so the bytes PHP wrote
 * stay as they were. Scans the text once, tracking strings and nesting.
 */
export function rawMember(text: string, name: string): string | undefined {
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (depth === 1) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        let j = end + 1;
        while (j < n && /\s/.test(text[j] ?? '')) j++;
        if (text[j] === ':') {
          j++;
          while (j < n && /\s/.test(text[j] ?? '')) j++;
          const valueEnd = valueEndIndex(text, j);
          if (key === name) return text.slice(j, valueEnd).trimEnd();
          i = valueEnd;
          continue;
        }
      }
      i = end + 1;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    i++;
  }
  return undefined;
}

function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i;
    else i++;
  }
  return text.length - 1;
}

function valueEndIndex(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i = stringEnd(text, i) + 1;
      if (depth === 0) return i;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (ch === ',' && depth === 0) return i;
    i++;
  }
  return i;
}
