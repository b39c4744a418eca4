import { dateSpan } from './dates.ts';
import { numericBound, parseLogId, parseSuccess, queryError, resolveField, type FieldSet, type SearchField } from './fields.ts';

/*
 * Lucene query syntax (as Elasticsearch's query_string reads it) parsed into a small boolean tree over typed
 * predicates. The tree is what both engines run: the built-in search turns it into SQL, the Elasticsearch adapter
 * renders it back into an explicit, fully parenthesised query_string. So both engines give the same answers and
 * every mistake is reported once, here, with its 1-based column.
 *
 * Semantics (documented in the README):
 * - Precedence NOT > AND > OR (`a OR b AND c` is `a OR (b AND c)`); `-x` and `!x` are NOT x, `+x` is x.
 * - Clauses written side by side follow Lucene's rules with Elasticsearch's default operator OR: `a b` is a OR b,
 *   `+a b` requires a (b only ranks), `a -b` is a AND NOT b, and a lone `-b` matches everything but b.
 * - `event_name` and `uuid` are keywords: exact and case-sensitive. `data.*` values are matched whole and
 *   case-insensitively (Elasticsearch maps them as analysed text). Field-less terms look in event_name, uuid and
 *   the text of the delivered data. `*` and `?` are wildcards, except inside quotes.
 */

export type PatternPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'any' } | { readonly kind: 'one' };

export interface Bound {
  readonly value: string | number;
  readonly inclusive: boolean;
}

export type SearchQuery =
  | { readonly kind: 'all' }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SearchQuery[] }
  | { readonly kind: 'not'; readonly operand: SearchQuery }
  /** log_id (number), success (boolean), event_name/uuid (exact text), data.* (whole value, any case). */
  | { readonly kind: 'equals'; readonly field: SearchField; readonly value: string | number | boolean; readonly position: number }
  | { readonly kind: 'like'; readonly field: SearchField; readonly pattern: readonly PatternPart[]; readonly position: number }
  | { readonly kind: 'range'; readonly field: SearchField; readonly lower?: Bound; readonly upper?: Bound; readonly position: number }
  | { readonly kind: 'exists'; readonly field: SearchField; readonly position: number }
  /** A field-less term or phrase. */
  | { readonly kind: 'text'; readonly pattern: readonly PatternPart[]; readonly position: number };

export interface ParseOptions {
  /** Operator between clauses written side by side; Elasticsearch's query_string default is OR. */
  readonly defaultOperator?: 'OR' | 'AND';
  /** Reference time for `now-7d`. */
  readonly now?: Date;
  /** The fields the query may name (default: the delivery log's). */
  readonly fields?: FieldSet;
}

/** Limits that keep a hostile query from exhausting the stack or the SQL parameter budget. */
const MAX_DEPTH = 32;
const MAX_TERMS = 200;

const STOP_CHARS = new Set(['(', ')', '[', ']', '{', '}', '"', ':', '^', '~']);

interface Term {
  readonly parts: readonly PatternPart[];
  /** Unescaped text, wildcards included as their characters. */
  readonly text: string;
  readonly wildcard: boolean;
  readonly escaped: boolean;
}

interface Clause {
  readonly node: SearchQuery;
  readonly modifier: '+' | '-' | null;
}

export function parseQuery(text: string, options: ParseOptions = {}): SearchQuery {
  const defaultOperator = options.defaultOperator ?? 'OR';
  const now = options.now ?? new Date();
  const length = text.length;
  let i = 0;
  let depth = 0;
  let terms = 0;

  const col = (index: number): number => index + 1;
  const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  const isTermChar = (c: string | undefined): boolean => c !== undefined && !isSpace(c) && !STOP_CHARS.has(c);
  const skipSpace = (): void => {
    while (isSpace(text[i])) i++;
  };
  const show = (index: number): string => {
    const c = text[index];
    if (c === undefined) return 'end of query';
    if (isTermChar(c) || c === '\\') return `"${readWordAt(index)}"`;
    return `"${c}"`;
  };
  const readWordAt = (index: number): string => {
    let end = index;
    while (end < length && (isTermChar(text[end]) || text[end] === '\\')) end += text[end] === '\\' ? 2 : 1;
    return text.slice(index, Math.max(end, index + 1));
  };
  const unexpected = (index: number, hint?: string): never => {
    if (index >= length) throw queryError('Unexpected end of query', col(index), hint);
    throw queryError(`Unexpected ${show(index)}`, col(index), hint);
  };

  /** A keyword (AND, OR, NOT, TO) only counts as a whole word. */
  const keywordAt = (index: number, word: string): boolean => text.startsWith(word, index) && !isTermChar(text[index + word.length]) && text[index + word.length] !== '\\';
  const binaryOperatorAt = (index: number): { op: 'AND' | 'OR'; size: number } | undefined => {
    if (keywordAt(index, 'AND')) return { op: 'AND', size: 3 };
    if (text.startsWith('&&', index)) return { op: 'AND', size: 2 };
    if (keywordAt(index, 'OR')) return { op: 'OR', size: 2 };
    if (text.startsWith('||', index)) return { op: 'OR', size: 2 };
    return undefined;
  };

  const expectOperand = (after: string): void => {
    skipSpace();
    const operator = binaryOperatorAt(i);
    if (i >= length || text[i] === ')' || operator !== undefined) {
      unexpected(i, `"${after}" needs a term after it`);
    }
  };

  function parseClauses(defaultField: SearchField | null, closedBy: number | null): SearchQuery {
    const clauses: Clause[] = [];
    for (;;) {
      skipSpace();
      if (i >= length) break;
      if (text[i] === ')') {
        if (closedBy !== null) break;
        unexpected(i, 'there is no "(" to close');
      }
      const operator = binaryOperatorAt(i);
      if (operator !== undefined) unexpected(i, `"${text.slice(i, i + operator.size)}" needs a term on each side`);
      clauses.push(parseOr(defaultField));
    }
    if (closedBy !== null && clauses.length === 0) {
      if (i >= length) throw queryError('Unclosed "("', col(closedBy), 'add the missing ")"');
      throw queryError('Empty group "()"', col(closedBy));
    }
    return combine(clauses);
  }

  function combine(clauses: readonly Clause[]): SearchQuery {
    if (clauses.length === 0) return { kind: 'all' };
    const must: SearchQuery[] = [];
    const should: SearchQuery[] = [];
    const mustNot: SearchQuery[] = [];
    for (const clause of clauses) {
      if (clause.modifier === '-') mustNot.push(clause.node);
      else if (clause.modifier === '+' || defaultOperator === 'AND') must.push(clause.node);
      else should.push(clause.node);
    }
    // As in a Lucene BooleanQuery: with required clauses present, optional ones only affect ranking.
    if (must.length === 0 && should.length > 0) must.push(or(should));
    for (const excluded of mustNot) must.push({ kind: 'not', operand: excluded });
    return and(must);
  }

  function parseOr(defaultField: SearchField | null): Clause {
    return parseChain('OR', parseAnd, or, defaultField);
  }

  function parseAnd(defaultField: SearchField | null): Clause {
    return parseChain('AND', parseUnary, and, defaultField);
  }

  /** Operands joined by one binary operator; the operand parser binds tighter (precedence NOT > AND > OR). */
  function parseChain(
    op: 'AND' | 'OR',
    parseOperand: (defaultField: SearchField | null) => Clause,
    combine: (nodes: SearchQuery[]) => SearchQuery,
    defaultField: SearchField | null,
  ): Clause {
    const first = parseOperand(defaultField);
    const operands = [first];
    for (;;) {
      skipSpace();
      const operator = binaryOperatorAt(i);
      if (operator?.op !== op) break;
      i += operator.size;
      expectOperand(text.slice(i - operator.size, i));
      operands.push(parseOperand(defaultField));
    }
    return operands.length === 1 ? first : { node: combine(operands.map(applyModifier)), modifier: null };
  }

  function parseUnary(defaultField: SearchField | null): Clause {
    skipSpace();
    if (keywordAt(i, 'NOT') || text[i] === '!') {
      const at = i;
      const size = text[i] === '!' ? 1 : 3;
      i += size;
      expectOperand(size === 1 ? '!' : 'NOT');
      depth++;
      if (depth > MAX_DEPTH) throw queryError('Negations nested too deeply', col(at), `at most ${MAX_DEPTH} levels`);
      const operand = applyModifier(parseUnary(defaultField));
      depth--;
      return { node: operand, modifier: '-' };
    }
    if (text[i] === '+' || text[i] === '-') {
      const modifier = text[i] as '+' | '-';
      i++;
      expectOperand(modifier);
      if (text[i] === '+' || text[i] === '-' || text[i] === '!' || keywordAt(i, 'NOT')) unexpected(i, `"${modifier}" applies to one term`);
      return { node: parsePrimary(defaultField), modifier };
    }
    return { node: parsePrimary(defaultField), modifier: null };
  }

  function parsePrimary(defaultField: SearchField | null): SearchQuery {
    skipSpace();
    const start = i;
    const c = text[i];
    if (c === '(') return parseGroup(defaultField);
    if (c === '"') return valueNode(defaultField, readPhrase(), start);
    if (c === '[' || c === '{') {
      if (defaultField === null) throw queryError('Range without a field', col(start), 'write it as created:[2024-01-01 TO 2024-12-31]');
      return parseRange(defaultField);
    }
    if (c === '/') throw queryError('Regular expressions are not supported', col(start), 'escape a leading "/" as "\\/" or quote the value');
    if (c === undefined || (!isTermChar(c) && c !== '\\')) unexpected(start);
    if (binaryOperatorAt(i) !== undefined || keywordAt(i, 'NOT')) unexpected(i, 'an operator needs a term on each side');

    const term = readTerm();
    let next = i;
    while (isSpace(text[next])) next++;
    if (text[next] === ':') {
      if (defaultField !== null) throw queryError(`Field "${term.text}" inside the group of another field`, col(start));
      // A field name is not a term of its own.
      terms--;
      i = next + 1;
      return parseFieldValue(term, start);
    }
    afterValue();
    return valueNode(defaultField, term, start);
  }

  function parseGroup(defaultField: SearchField | null): SearchQuery {
    const open = i;
    depth++;
    if (depth > MAX_DEPTH) throw queryError('Groups nested too deeply', col(open), `at most ${MAX_DEPTH} levels`);
    i++;
    const node = parseClauses(defaultField, open);
    if (text[i] !== ')') throw queryError('Unclosed "("', col(open), 'add the missing ")"');
    i++;
    depth--;
    skipBoost();
    return node;
  }

  function parseFieldValue(fieldTerm: Term, start: number): SearchQuery {
    if (fieldTerm.text === '*' && !fieldTerm.escaped) {
      skipSpace();
      const value = readTerm();
      if (value.text !== '*' || value.escaped) throw queryError('Expected "*:*"', col(start));
      return { kind: 'all' };
    }
    if (fieldTerm.text === '_exists_' && !fieldTerm.escaped) {
      skipSpace();
      const at = i;
      const name = readTerm();
      if (name.text === '') unexpected(at, '_exists_ needs a field name');
      return { kind: 'exists', field: resolveField(name.text, col(at), options.fields), position: col(start) };
    }
    if (fieldTerm.wildcard) throw queryError(`Invalid field "${fieldTerm.text}"`, col(start), 'wildcards in field names are not supported');
    const field = resolveField(fieldTerm.text, col(start), options.fields);
    skipSpace();
    const at = i;
    const c = text[i];
    if (c === '(') return parseGroup(field);
    if (c === '"') return valueNode(field, readPhrase(), at);
    if (c === '[' || c === '{') return parseRange(field);
    if (c === '>' || c === '<') return parseComparison(field);
    if (c === undefined || (!isTermChar(c) && c !== '\\') || binaryOperatorAt(i) !== undefined) {
      unexpected(i, `"${fieldTerm.text}:" needs a value after it`);
    }
    const value = readTerm();
    afterValue();
    return valueNode(field, value, at);
  }

  function readTerm(): Term {
    const parts: PatternPart[] = [];
    let buffer = '';
    let all = '';
    let wildcard = false;
    let escaped = false;
    const flush = (): void => {
      if (buffer !== '') parts.push({ kind: 'text', text: buffer });
      buffer = '';
    };
    while (i < length) {
      const c = text[i] as string;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === undefined) throw queryError('Escape "\\" at the end of the query', col(i), 'escape a backslash as "\\\\"');
        buffer += next;
        all += next;
        escaped = true;
        i += 2;
        continue;
      }
      if (!isTermChar(c)) break;
      if (c === '*' || c === '?') {
        flush();
        parts.push({ kind: c === '*' ? 'any' : 'one' });
        wildcard = true;
      } else {
        buffer += c;
      }
      all += c;
      i++;
    }
    flush();
    terms++;
    if (terms > MAX_TERMS) throw queryError('Too many terms', col(i), `at most ${MAX_TERMS}`);
    return { parts, text: all, wildcard, escaped };
  }

  function readPhrase(): Term {
    const open = i;
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw queryError('Unclosed quote', col(open), 'add the missing \'"\'');
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === undefined) throw queryError('Unclosed quote', col(open), 'add the missing \'"\'');
        value += next;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    terms++;
    if (terms > MAX_TERMS) throw queryError('Too many terms', col(i), `at most ${MAX_TERMS}`);
    afterValue();
    return { parts: value === '' ? [] : [{ kind: 'text', text: value }], text: value, wildcard: false, escaped: true };
  }

  /** Boosts only rank, so they are accepted and ignored; fuzziness and proximity cannot be answered in SQL. */
  function afterValue(): void {
    if (text[i] === '~') throw queryError('Fuzzy and proximity searches ("~") are not supported', col(i), 'use wildcards such as CK*');
    skipBoost();
  }

  function skipBoost(): void {
    if (text[i] !== '^') return;
    const at = i;
    i++;
    const match = /^\d+(\.\d+)?/.exec(text.slice(i));
    if (!match) throw queryError('Boost "^" without a number', col(at));
    i += match[0].length;
  }

  function parseRange(field: SearchField): SearchQuery {
    const open = i;
    const lowerInclusive = text[i] === '[';
    i++;
    skipSpace();
    const lowerAt = i;
    const lower = readBound();
    skipSpace();
    if (!keywordAt(i, 'TO')) unexpected(i, 'a range is written [from TO to]');
    i += 2;
    skipSpace();
    const upperAt = i;
    const upper = readBound();
    skipSpace();
    const close = text[i];
    if (close !== ']' && close !== '}') {
      if (i >= length) throw queryError('Unclosed range', col(open), 'end it with "]" or "}"');
      unexpected(i, 'end the range with "]" or "}"');
    }
    i++;
    skipBoost();
    return rangeNode(field, lower, lowerInclusive, lowerAt, upper, close === ']', upperAt, col(open));
  }

  /** A range end: quoted, `*` (open), or text up to whitespace or the closing bracket. */
  function readBound(): string | null {
    if (text[i] === '"') {
      const phrase = readPhrase();
      return phrase.text;
    }
    const start = i;
    const value = readBareValue((c) => c === ']' || c === '}');
    if (i === start) unexpected(i, 'a range is written [from TO to]');
    if (text.slice(start, i) === '*') return null;
    terms++;
    return value;
  }

  /** A value up to whitespace or a stop character, `\x` standing for `x`. */
  function readBareValue(stopsAt: (c: string) => boolean): string {
    let value = '';
    while (i < length && !isSpace(text[i]) && !stopsAt(text[i] as string)) {
      if (text[i] === '\\') {
        const next = text[i + 1];
        if (next === undefined) throw queryError('Escape "\\" at the end of the query', col(i));
        value += next;
        i += 2;
        continue;
      }
      value += text[i];
      i++;
    }
    return value;
  }

  function parseComparison(field: SearchField): SearchQuery {
    const at = i;
    const operator = text.startsWith('>=', i) || text.startsWith('<=', i) ? text.slice(i, i + 2) : (text[i] as string);
    i += operator.length;
    skipSpace();
    const valueAt = i;
    // Like a range end, the value runs to whitespace or ")", so `created:>2024-05-01T10:00` needs no escapes.
    let value = '';
    if (text[i] === '"') value = readPhrase().text;
    else {
      value = readBareValue((c) => c === ')');
      if (value === '') unexpected(i, `"${operator}" needs a value after it`);
      terms++;
    }
    const inclusive = operator.endsWith('=');
    return operator.startsWith('>')
      ? rangeNode(field, value, inclusive, valueAt, null, false, valueAt, col(at))
      : rangeNode(field, null, false, valueAt, value, inclusive, valueAt, col(at));
  }

  function rangeNode(field: SearchField, lower: string | null, lowerInclusive: boolean, lowerAt: number, upper: string | null, upperInclusive: boolean, upperAt: number, position: number): SearchQuery {
    if (lower === null && upper === null) return { kind: 'exists', field, position };
    switch (field.kind) {
      case 'success':
        throw queryError('Range on success', position, 'success is true or false');
      case 'log_id':
        return {
          kind: 'range',
          field,
          position,
          ...(lower === null ? {} : { lower: { value: parseLogId(lower, col(lowerAt)), inclusive: lowerInclusive } }),
          ...(upper === null ? {} : { upper: { value: parseLogId(upper, col(upperAt)), inclusive: upperInclusive } }),
        };
      case 'created': {
        // An inclusive upper and an exclusive lower end extend to the last second of the span they name.
        const low = lower === null ? undefined : dateSpan(lower, col(lowerAt), now);
        const high = upper === null ? undefined : dateSpan(upper, col(upperAt), now);
        return {
          kind: 'range',
          field,
          position,
          ...(low === undefined ? {} : { lower: lowerInclusive ? { value: low.first, inclusive: true } : { value: low.last, inclusive: false } }),
          ...(high === undefined ? {} : { upper: upperInclusive ? { value: high.last, inclusive: true } : { value: high.first, inclusive: false } }),
        };
      }
      case 'uuid':
      case 'event_name':
      case 'store_id':
      case 'data': {
        const lowNumber = lower === null ? null : numericBound(lower);
        const highNumber = upper === null ? null : numericBound(upper);
        const numeric = (field.kind === 'data' || field.kind === 'store_id') && lowNumber !== undefined && highNumber !== undefined;
        const bound = (value: string, number: number | null | undefined, inclusive: boolean): Bound => ({ value: numeric && typeof number === 'number' ? number : value, inclusive });
        return {
          kind: 'range',
          field,
          position,
          ...(lower === null ? {} : { lower: bound(lower, lowNumber, lowerInclusive) }),
          ...(upper === null ? {} : { upper: bound(upper, highNumber, upperInclusive) }),
        };
      }
    }
  }

  function valueNode(field: SearchField | null, term: Term, at: number): SearchQuery {
    const position = col(at);
    const matchesAll = term.wildcard && term.parts.length > 0 && term.parts.every((part) => part.kind === 'any');
    if (field === null) {
      if (matchesAll) return { kind: 'all' };
      return { kind: 'text', pattern: term.parts, position };
    }
    if (matchesAll) return { kind: 'exists', field, position };
    switch (field.kind) {
      case 'log_id':
        if (term.wildcard) throw queryError('Wildcard on log_id', position, 'use a range such as log_id:[100 TO 200]');
        return { kind: 'equals', field, value: parseLogId(term.text, position), position };
      case 'success':
        if (term.wildcard) throw queryError('Wildcard on success', position, 'success is true or false');
        return { kind: 'equals', field, value: parseSuccess(term.text, position), position };
      case 'created': {
        if (term.wildcard) {
          // `2024-05*` is the month of May: a span, which Elasticsearch can answer too.
          const [first, last] = term.parts;
          if (term.parts.length === 2 && first?.kind === 'text' && last?.kind === 'any' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(first.text)) {
            const span = dateSpan(first.text, position, now);
            return { kind: 'range', field, lower: { value: span.first, inclusive: true }, upper: { value: span.last, inclusive: true }, position };
          }
          return { kind: 'like', field, pattern: term.parts, position };
        }
        const span = dateSpan(term.text, position, now);
        return { kind: 'range', field, lower: { value: span.first, inclusive: true }, upper: { value: span.last, inclusive: true }, position };
      }
      case 'uuid':
      case 'event_name':
      case 'store_id':
      case 'data':
        if (term.wildcard) return { kind: 'like', field, pattern: term.parts, position };
        return { kind: 'equals', field, value: term.text, position };
    }
  }

  skipSpace();
  const query = parseClauses(null, null);
  return query;
}

function applyModifier(clause: Clause): SearchQuery {
  return clause.modifier === '-' ? { kind: 'not', operand: clause.node } : clause.node;
}

function and(operands: readonly SearchQuery[]): SearchQuery {
  const flat = operands.flatMap((operand) => (operand.kind === 'and' ? operand.operands : operand.kind === 'all' ? [] : [operand]));
  if (flat.length === 0) return { kind: 'all' };
  return flat.length === 1 ? (flat[0] as SearchQuery) : { kind: 'and', operands: flat };
}

function or(operands: readonly SearchQuery[]): SearchQuery {
  if (operands.some((operand) => operand.kind === 'all')) return { kind: 'all' };
  const flat = operands.flatMap((operand) => (operand.kind === 'or' ? operand.operands : [operand]));
  return flat.length === 1 ? (flat[0] as SearchQuery) : { kind: 'or', operands: flat };
}
