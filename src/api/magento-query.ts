import qs from 'qs';
import { apiError } from './api-error.ts';

/** A query value: a string, or a nested object built from PHP-style `a[b][0]=…` keys (indexes stay object keys). */
export type QueryValue = string | QueryObject;
export interface QueryObject {
  [key: string]: QueryValue;
}

/*
 * `qs` (express's extended query parser) reads Magento's bracket keys as PHP fills `$_GET`. Its options keep
 * `[0]` as an object key (the searchCriteria schema orders filters by index, and a sparse `[10]` must not become a
 * ten-slot array), bound depth and parameter count (too deep or too many is an error, not a silent cut), and keep
 * duplicates so that they can be refused below rather than one silently winning.
 */
const OPTIONS = {
  parseArrays: false,
  depth: 8,
  strictDepth: true,
  parameterLimit: 1000,
  throwOnLimitExceeded: true,
  duplicates: 'combine',
  allowPrototypes: false,
  plainObjects: true,
} as const;

type Parsed = string | Parsed[] | { [key: string]: Parsed } | undefined;

function name(path: readonly string[]): string {
  return (path[0] ?? '') + path.slice(1).map((p) => `[${p}]`).join('');
}

/**
 * A key given twice, or used both as a value and as a parent, is an error rather than a silent overwrite, so a
 * typo cannot drop a filter. `searchCriteria=` followed by nested keys is common in clients: the empty value
 * means "no criteria" and is superseded by the nested keys.
 */
function settle(value: Parsed, path: string[]): QueryValue {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const objects = value.filter((v) => typeof v === 'object');
    const values = value.filter((v) => typeof v === 'string');
    if (objects.length !== 1 || values.some((v) => v !== '')) {
      const message = objects.length === 0 ? 'Query parameter "%fieldName" is given more than once.' : 'Query parameter "%fieldName" is given both as a value and with nested keys.';
      throw apiError('VALIDATION_FAILED', message, { fieldName: name(path) });
    }
    return settle(objects[0], path);
  }
  const result: QueryObject = {};
  for (const [key, inner] of Object.entries(value)) result[key] = settle(inner, [...path, key]);
  return result;
}

/** Parses a raw query string (without `?`); installed as express's `query parser`. */
export function parseMagentoQuery(raw: string): QueryObject {
  let parsed: Record<string, Parsed>;
  try {
    parsed = qs.parse(raw, OPTIONS) as Record<string, Parsed>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw apiError('VALIDATION_FAILED', 'The query string cannot be read: %1', [reason]);
  }
  return settle(parsed, []) as QueryObject;
}
