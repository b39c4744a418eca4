import { fieldName, queryError, type SearchField } from './fields.ts';
import type { Bound, PatternPart, SearchQuery } from './query.ts';

/*
 * The parsed query rendered back as an Elasticsearch query_string: every operator explicit and every group in
 * parentheses, so Elasticsearch cannot read it differently from the built-in engine (its classic parser mixes
 * AND/OR without precedence, and a purely negative group matches nothing there, hence `*:* AND NOT`). Dates are
 * whole `yyyy-MM-dd HH:mm:ss` seconds, the format of upstream's mapping, so any index built by upstream answers.
 */

/** Fields a field-less term searches, as in the built-in engine. */
export const DEFAULT_FIELDS = ['event_name', 'uuid', 'data.*'] as const;

const RESERVED = new Set(['+', '-', '=', '&', '|', '>', '<', '!', '(', ')', '{', '}', '[', ']', '^', '"', '~', '*', '?', ':', '\\', '/', ' ']);

export function toQueryString(query: SearchQuery): string {
  switch (query.kind) {
    case 'all':
      return '*:*';
    case 'and':
    case 'or':
      return `(${query.operands.map(toQueryString).join(` ${query.kind.toUpperCase()} `)})`;
    case 'not':
      return `(*:* AND NOT ${toQueryString(query.operand)})`;
    case 'equals':
      return `${fieldName(query.field)}:${scalar(query.value)}`;
    case 'like':
      if (query.field.kind === 'created') {
        throw queryError('Wildcard on created', query.position, 'Elasticsearch cannot match wildcards on a date; use a date prefix such as 2024-05* or a range');
      }
      return `${fieldName(query.field)}:${pattern(query.pattern)}`;
    case 'range':
      return `${fieldName(query.field)}:${range(query.field, query.lower, query.upper)}`;
    case 'exists':
      return `_exists_:${fieldName(query.field)}`;
    case 'text': {
      if (query.pattern.length === 0) return '""';
      const wildcard = query.pattern.some((part) => part.kind !== 'text');
      return wildcard ? pattern(query.pattern) : quote(query.pattern.map((part) => (part.kind === 'text' ? part.text : '')).join(''));
    }
  }
}

function scalar(value: string | number | boolean): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

function range(field: SearchField, lower: Bound | undefined, upper: Bound | undefined): string {
  const end = (bound: Bound | undefined): string => (bound === undefined ? '*' : typeof bound.value === 'number' || field.kind === 'log_id' ? String(bound.value) : quote(bound.value));
  const open = lower === undefined || lower.inclusive ? '[' : '{';
  const close = upper === undefined || upper.inclusive ? ']' : '}';
  return `${open}${end(lower)} TO ${end(upper)}${close}`;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function pattern(parts: readonly PatternPart[]): string {
  return parts
    .map((part) => {
      if (part.kind === 'any') return '*';
      if (part.kind === 'one') return '?';
      return [...part.text].map((c) => (RESERVED.has(c) || /\s/.test(c) ? `\\${c}` : c)).join('');
    })
    .join('');
}
