import { parseTree, type Node, type ParseError } from 'jsonc-parser';
import type { SearchField } from './fields.ts';
import type { Bound, PatternPart, SearchQuery } from './query.ts';
import { jsonSpellings } from './sql.ts';

/*
 * The query tree evaluated in memory, on one document at a time: how a subscription's `filter` is checked against
 * Magento's response before a chain starts. The rules are the built-in search's (sql.ts), so a filter means what
 * the same text means in the log search; the search conformance cases run through both to keep them so.
 */

export interface MatchRecord {
  readonly logId?: number;
  readonly uuid?: string;
  readonly eventName: string;
  readonly success?: boolean;
  /** `yyyy-MM-dd HH:mm:ss` UTC. */
  readonly created?: string;
  readonly storeId?: string;
  /** The JSON text that `data.*` paths and field-less terms read; null when there is none. */
  readonly document: string | null;
}

export type RecordMatcher = (record: MatchRecord) => boolean;

export function compileMatcher(query: SearchQuery): RecordMatcher {
  return (record) => evaluate(query, new Document(record));
}

/** A record with its document parsed at most once, however many predicates read it. */
class Document {
  readonly record: MatchRecord;
  #tree: Node | null | undefined;

  constructor(record: MatchRecord) {
    this.record = record;
  }

  /** The value node at a data path; objects are walked by key, never arrays (as the log search). */
  at(path: readonly string[]): Node | undefined {
    let node: Node | undefined = this.tree() ?? undefined;
    for (const segment of path) {
      if (node?.type !== 'object') return undefined;
      const property: Node | undefined = node.children?.find((p) => p.children?.[0]?.value === segment);
      node = property?.children?.[1];
    }
    return node ?? undefined;
  }

  private tree(): Node | null {
    if (this.#tree !== undefined) return this.#tree;
    const text = this.record.document;
    const errors: ParseError[] = [];
    const tree = text === null ? undefined : parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
    // A document that is not strict JSON has no data values, as JSON_EXTRACT finds none in it.
    this.#tree = tree === undefined || errors.length > 0 ? null : tree;
    return this.#tree;
  }

  raw(node: Node): string {
    return (this.record.document ?? '').slice(node.offset, node.offset + node.length);
  }
}

function evaluate(node: SearchQuery, doc: Document): boolean {
  switch (node.kind) {
    case 'all':
      return true;
    case 'and':
      return node.operands.every((operand) => evaluate(operand, doc));
    case 'or':
      return node.operands.some((operand) => evaluate(operand, doc));
    case 'not':
      return !evaluate(node.operand, doc);
    case 'equals':
      return equals(node.field, node.value, doc);
    case 'like':
      return like(node.field, node.pattern, doc);
    case 'range':
      return range(node.field, node.lower, node.upper, doc);
    case 'exists':
      return exists(node.field, doc);
    case 'text':
      return text(node.pattern, doc);
  }
}

function equals(field: SearchField, value: string | number | boolean, doc: Document): boolean {
  const { record } = doc;
  switch (field.kind) {
    case 'log_id':
      return record.logId === value;
    case 'success':
      return record.success === value;
    case 'created':
      return record.created === value;
    case 'uuid':
    case 'event_name':
    case 'store_id':
      return keyword(field.kind, record) === String(value);
    case 'data': {
      const found = dataText(doc, field.path);
      return found !== undefined && fold(found) === fold(String(value));
    }
  }
}

function like(field: SearchField, pattern: readonly PatternPart[], doc: Document): boolean {
  const { record } = doc;
  switch (field.kind) {
    case 'uuid':
    case 'event_name':
    case 'store_id': {
      const value = keyword(field.kind, record);
      return value !== undefined && matchesPattern(pattern, value, false);
    }
    case 'created':
      return record.created !== undefined && matchesPattern(pattern, record.created, false);
    case 'data': {
      const found = dataText(doc, field.path);
      return found !== undefined && matchesPattern(pattern, found, true);
    }
    case 'log_id':
    case 'success':
      return false;
  }
}

function range(field: SearchField, lower: Bound | undefined, upper: Bound | undefined, doc: Document): boolean {
  const within = <T extends string | number>(value: T | undefined): boolean => {
    if (value === undefined) return false;
    if (lower && !(lower.inclusive ? value >= lower.value : value > lower.value)) return false;
    if (upper && !(upper.inclusive ? value <= upper.value : value < upper.value)) return false;
    return true;
  };
  const { record } = doc;
  switch (field.kind) {
    case 'log_id':
      return within(record.logId);
    case 'created':
      return within(record.created);
    case 'uuid':
    case 'event_name':
      return within(keyword(field.kind, record));
    case 'store_id': {
      const numeric = typeof lower?.value === 'number' || typeof upper?.value === 'number';
      const value = record.storeId;
      return numeric ? value !== undefined && /^-?\d+$/.test(value) && within(Number(value)) : within(value);
    }
    case 'data': {
      if (typeof lower?.value === 'number' || typeof upper?.value === 'number') {
        const found = doc.at(field.path);
        return found?.type === 'number' && within(Number(doc.raw(found)));
      }
      return within(dataText(doc, field.path));
    }
    case 'success':
      return false;
  }
}

function exists(field: SearchField, doc: Document): boolean {
  const { record } = doc;
  switch (field.kind) {
    case 'log_id':
    case 'success':
    case 'created':
      return true;
    case 'uuid':
    case 'event_name':
    case 'store_id':
      return keyword(field.kind, record) !== undefined;
    case 'data': {
      const found = doc.at(field.path);
      return found !== undefined && found.type !== 'null';
    }
  }
}

function text(pattern: readonly PatternPart[], doc: Document): boolean {
  if (pattern.length === 0) return false;
  const wildcard = pattern.some((part) => part.kind !== 'text');
  const literal = pattern.map((part) => (part.kind === 'text' ? part.text : '')).join('');
  const isKeyword = (value: string | undefined): boolean => value !== undefined && (wildcard ? matchesPattern(pattern, value, false) : value === literal);
  if (isKeyword(doc.record.eventName) || isKeyword(doc.record.uuid)) return true;
  const document = doc.record.document;
  if (document === null) return false;
  return jsonSpellings(pattern).some((spelling) => matchesPattern([{ kind: 'any' }, ...spelling, { kind: 'any' }], document, true));
}

function keyword(name: 'uuid' | 'event_name' | 'store_id', record: MatchRecord): string | undefined {
  return name === 'uuid' ? record.uuid : name === 'event_name' ? record.eventName : record.storeId;
}

/** The scalar at a path as text, as the SQL engines read it: numbers as written, booleans as true/false. */
function dataText(doc: Document, path: readonly string[]): string | undefined {
  const found = doc.at(path);
  if (found === undefined || found.type === 'null') return undefined;
  if (found.type === 'string') return String(found.value);
  return doc.raw(found);
}

function fold(text: string): string {
  return text.toLowerCase();
}

const compiled = new Map<string, RegExp>();

/** LIKE semantics: `*` any run of characters, `?` exactly one, anchored at both ends; data.* ignores case. */
function matchesPattern(pattern: readonly PatternPart[], value: string, caseInsensitive: boolean): boolean {
  const source = pattern
    .map((part) => (part.kind === 'any' ? '.*' : part.kind === 'one' ? '.' : (caseInsensitive ? fold(part.text) : part.text).replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')))
    .join('');
  let regExp = compiled.get(source);
  if (regExp === undefined) {
    regExp = new RegExp(`^${source}$`, 'su');
    // Filters are few and fixed; the bound only keeps a stream of ad-hoc queries from growing the cache.
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(source, regExp);
  }
  return regExp.test(caseInsensitive ? fold(value) : value);
}
