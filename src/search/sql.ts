import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { numericBound, type SearchField } from './fields.ts';
import type { Bound, PatternPart, SearchQuery } from './query.ts';

/*
 * The query tree as a SQL condition over `async_event_subscriber_log AS l LEFT JOIN async_event_subscriber AS s`,
 * for MySQL/MariaDB and SQLite. Every value and JSON path is a bound parameter; the only text spliced into the SQL
 * is our own fixed fragments, so no query can change what the SQL does.
 *
 * Matching rules (the README documents them):
 * - `event_name`, `uuid`: exact and case-sensitive, like Elasticsearch keywords (MySQL compares in utf8mb4_bin,
 *   since Magento's tables use a case-insensitive collation).
 * - `data.<path>`: the JSON value at `$.<path>` of serialized_data as text (true/false for booleans), compared
 *   whole and case-insensitively; ranges compare numbers when both ends are numbers, text otherwise.
 * - field-less: event_name or uuid as above, or a case-insensitive substring of the serialized data, also in the
 *   escaped forms JSON and PHP's json_encode write (`\/`, `\u00e9`).
 * Case folding is ASCII-only on SQLite (its lower() and LIKE), full Unicode on MySQL.
 */

export type SqlDialect = 'mysql' | 'sqlite';
/** The dialect, told apart further where servers differ: MariaDB's JSON functions need no validity guard. */
export type SqlFlavor = SqlDialect | 'mariadb';

type Condition = RawBuilder<SqlBool>;

/** LIKE escape character; `!` needs no quoting in either dialect's string literals. */
const ESCAPE = '!';

export interface SearchConditionOptions {
  /** Narrow data.* comparisons with a LIKE on the raw text first (MySQL/MariaDB); off only to prove it changes nothing. */
  readonly rawPrefilter?: boolean;
  /** Read a data path with one JSON parse where a JSON null cannot change the answer (mayEqualNull); off only to prove that. */
  readonly singleParse?: boolean;
}

export function searchCondition(query: SearchQuery, dialect: SqlFlavor, options: SearchConditionOptions = {}): Condition {
  const columns = dialect === 'sqlite' ? sqliteColumns : dialect === 'mariadb' ? mariadbColumns : mysqlColumns;
  const rawContains = options.rawPrefilter === false ? undefined : columns.rawContains;
  const dataTextOrNull = options.singleParse === false ? columns.dataText : columns.dataTextOrNull;

  const translate = (node: SearchQuery): Condition => {
    switch (node.kind) {
      case 'all':
        return sql<SqlBool>`1 = 1`;
      case 'and':
      case 'or':
        return sql<SqlBool>`(${sql.join(node.operands.map(translate), node.kind === 'and' ? sql` AND ` : sql` OR `)})`;
      case 'not':
        // A missing JSON value makes a comparison NULL; Lucene's NOT still matches that row.
        return sql<SqlBool>`NOT COALESCE(${translate(node.operand)}, 0)`;
      case 'equals':
        return equals(node.field, node.value);
      case 'like':
        return like(node.field, node.pattern);
      case 'range':
        return range(node.field, node.lower, node.upper);
      case 'exists':
        return exists(node.field);
      case 'text':
        return text(node.pattern);
    }
  };

  const equals = (field: SearchField, value: string | number | boolean): Condition => {
    switch (field.kind) {
      case 'log_id':
        return sql<SqlBool>`l.log_id = ${value}`;
      case 'success':
        return sql<SqlBool>`l.success = ${value === true ? 1 : 0}`;
      case 'created':
        return sql<SqlBool>`${columns.created()} = ${value}`;
      case 'uuid':
      case 'event_name':
        return sql<SqlBool>`${columns.keyword(field.kind)} = ${value}`;
      case 'store_id':
        throw new Error('store_id is a subscription filter field; the log search never parses it');
      case 'data': {
        const text = String(value);
        const target = mayEqualNull(text) ? columns.dataText(field.path) : dataTextOrNull(field.path);
        const match = sql<SqlBool>`${columns.folded(target)} = ${columns.folded(sql`${text}`)}`;
        const needle = rawContains ? rawNeedle(text) : undefined;
        // The cheap test first: a row whose text lacks the value cannot hold it at the path (rawNeedle says why).
        return needle === undefined || !rawContains ? match : sql<SqlBool>`(${rawContains(needle)} AND ${match})`;
      }
    }
  };

  const like = (field: SearchField, pattern: readonly PatternPart[]): Condition => {
    switch (field.kind) {
      case 'uuid':
      case 'event_name':
        return columns.caseSensitiveLike(columns.keyword(field.kind), pattern);
      case 'created':
        return sql<SqlBool>`${columns.createdText()} LIKE ${likePattern(pattern)} ESCAPE '!'`;
      case 'store_id':
        throw new Error('store_id is a subscription filter field; the log search never parses it');
      case 'data': {
        const target = mayMatchNull(pattern) ? columns.dataText(field.path) : dataTextOrNull(field.path);
        return sql<SqlBool>`${columns.folded(target)} LIKE ${columns.folded(sql`${likePattern(pattern)}`)} ESCAPE '!'`;
      }
      case 'log_id':
      case 'success':
        throw new Error(`the parser never makes a wildcard on ${field.kind}`);
    }
  };

  const range = (field: SearchField, lower: Bound | undefined, upper: Bound | undefined): Condition => {
    const compare = (target: RawBuilder<unknown>): Condition => {
      const parts: Condition[] = [];
      if (lower) parts.push(lower.inclusive ? sql<SqlBool>`${target} >= ${lower.value}` : sql<SqlBool>`${target} > ${lower.value}`);
      if (upper) parts.push(upper.inclusive ? sql<SqlBool>`${target} <= ${upper.value}` : sql<SqlBool>`${target} < ${upper.value}`);
      return sql<SqlBool>`(${sql.join(parts, sql` AND `)})`;
    };
    switch (field.kind) {
      case 'log_id':
        return compare(sql`l.log_id`);
      case 'created':
        return compare(columns.created());
      case 'uuid':
      case 'event_name':
        return compare(columns.keyword(field.kind));
      case 'store_id':
        throw new Error('store_id is a subscription filter field; the log search never parses it');
      case 'data':
        if (typeof lower?.value === 'number' || typeof upper?.value === 'number') {
          return sql<SqlBool>`(${columns.isNumber(field.path)} AND ${compare(columns.dataNumber(field.path))})`;
        }
        return compare(columns.dataText(field.path));
      case 'success':
        throw new Error('the parser never makes a range on success');
    }
  };

  const exists = (field: SearchField): Condition => {
    switch (field.kind) {
      case 'log_id':
      case 'success':
      case 'created':
        return sql<SqlBool>`1 = 1`;
      case 'uuid':
        return sql<SqlBool>`l.uuid IS NOT NULL`;
      case 'event_name':
        return sql<SqlBool>`s.event_name IS NOT NULL`;
      case 'store_id':
        throw new Error('store_id is a subscription filter field; the log search never parses it');
      case 'data':
        return columns.hasValue(field.path);
    }
  };

  const text = (pattern: readonly PatternPart[]): Condition => {
    if (pattern.length === 0) return sql<SqlBool>`1 = 0`;
    const wildcard = pattern.some((part) => part.kind !== 'text');
    const literal = pattern.map((part) => (part.kind === 'text' ? part.text : '')).join('');
    const keyword = (name: 'event_name' | 'uuid'): Condition =>
      wildcard ? columns.caseSensitiveLike(columns.keyword(name), pattern) : sql<SqlBool>`${columns.keyword(name)} = ${literal}`;
    const inData = jsonSpellings(pattern).map(
      (spelling) => sql<SqlBool>`${columns.folded(columns.rawText())} LIKE ${columns.folded(sql`${`%${likePattern(spelling)}%`}`)} ESCAPE '!'`,
    );
    return sql<SqlBool>`(${sql.join([keyword('event_name'), keyword('uuid'), ...inData], sql` OR `)})`;
  };

  return translate(query);
}

interface DialectColumns {
  keyword(name: 'event_name' | 'uuid'): RawBuilder<unknown>;
  caseSensitiveLike(target: RawBuilder<unknown>, pattern: readonly PatternPart[]): Condition;
  created(): RawBuilder<unknown>;
  createdText(): RawBuilder<unknown>;
  /** serialized_data as text, for substring search. */
  rawText(): RawBuilder<unknown>;
  /** The scalar at a data path as text; NULL when absent, null or the document is not JSON. */
  dataText(path: readonly string[]): RawBuilder<unknown>;
  /**
   * dataText, except that a JSON null may read as the text `null`: for comparisons that text cannot satisfy (see
   * mayEqualNull), where it saves MySQL/MariaDB a second parse of the document (NULLIF evaluates its first argument
   * twice: 111 against 210 ms of CPU for data.data.customer_email over 100k rows).
   */
  dataTextOrNull(path: readonly string[]): RawBuilder<unknown>;
  dataNumber(path: readonly string[]): RawBuilder<unknown>;
  isNumber(path: readonly string[]): Condition;
  hasValue(path: readonly string[]): Condition;
  folded(value: RawBuilder<unknown>): RawBuilder<unknown>;
  /** serialized_data contains the ASCII text, case-insensitively (true for at least those rows; see rawNeedle). */
  rawContains?(needle: string): Condition;
}

/** `$."data"."increment_id"`; segments were checked against [A-Za-z0-9_-]+ and the path is bound anyway. */
export function jsonPath(path: readonly string[]): string {
  return `$${path.map((segment) => `."${segment}"`).join('')}`;
}

const sqliteDocument = sql`(CASE WHEN json_valid(CAST(l.serialized_data AS TEXT)) THEN CAST(l.serialized_data AS TEXT) END)`;

const sqliteColumns: DialectColumns = {
  keyword: (name) => (name === 'uuid' ? sql`l.uuid` : sql`s.event_name`),
  // GLOB is SQLite's case-sensitive LIKE, with * and ? as wildcards.
  caseSensitiveLike: (target, pattern) => sql<SqlBool>`${target} GLOB ${globPattern(pattern)}`,
  // The store writes `yyyy-MM-dd HH:mm:ss` (UTC); datetime() also reads ISO text such as 2024-05-01T10:00:00.000Z.
  created: () => sql`datetime(l.created)`,
  createdText: () => sql`datetime(l.created)`,
  rawText: () => sql`CAST(l.serialized_data AS TEXT)`,
  dataText: (path) => {
    const at = jsonPath(path);
    return sql`(CASE json_type(${sqliteDocument}, ${at}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(json_extract(${sqliteDocument}, ${at}) AS TEXT) END)`;
  },
  dataTextOrNull: (path) => sqliteColumns.dataText(path),
  dataNumber: (path) => sql`json_extract(${sqliteDocument}, ${jsonPath(path)})`,
  isNumber: (path) => sql<SqlBool>`COALESCE(json_type(${sqliteDocument}, ${jsonPath(path)}) IN ('integer', 'real'), 0)`,
  hasValue: (path) => sql<SqlBool>`COALESCE(json_type(${sqliteDocument}, ${jsonPath(path)}), 'null') <> 'null'`,
  folded: (value) => sql`lower(${value})`,
};

// MySQL 8 raises an error for JSON functions on text that is not JSON, so the document is guarded; MariaDB returns
// NULL (with a warning) instead, and the guard would cost it 40 % of a data.* query (414 → 252 ms over 100k rows).
const mysqlDocument = sql`(CASE WHEN JSON_VALID(CONVERT(l.serialized_data USING utf8mb4)) THEN CONVERT(l.serialized_data USING utf8mb4) END)`;
const mariadbDocument = sql`CONVERT(l.serialized_data USING utf8mb4)`;

const mysqlColumns: DialectColumns = mysqlFamilyColumns(mysqlDocument);
const mariadbColumns: DialectColumns = mysqlFamilyColumns(mariadbDocument);

function mysqlFamilyColumns(document: RawBuilder<unknown>): DialectColumns {
  return {
    keyword: (name) => (name === 'uuid' ? sql`CONVERT(l.uuid USING utf8mb4) COLLATE utf8mb4_bin` : sql`CONVERT(s.event_name USING utf8mb4) COLLATE utf8mb4_bin`),
    caseSensitiveLike: (target, pattern) => sql<SqlBool>`${target} LIKE ${likePattern(pattern)} ESCAPE '!'`,
    created: () => sql`l.created`,
    createdText: () => sql`DATE_FORMAT(l.created, '%Y-%m-%d %H:%i:%s')`,
    rawText: () => sql`CONVERT(l.serialized_data USING utf8mb4)`,
    dataText: (path) => sql`NULLIF(JSON_UNQUOTE(JSON_EXTRACT(${document}, ${jsonPath(path)})), 'null')`,
    // JSON_UNQUOTE prints a JSON null as `null` (and collates utf8mb4_bin, so NULLIF spares "NULL" and "Null").
    dataTextOrNull: (path) => sql`JSON_UNQUOTE(JSON_EXTRACT(${document}, ${jsonPath(path)}))`,
    dataNumber: (path) => sql`JSON_EXTRACT(${document}, ${jsonPath(path)})`,
    isNumber: (path) => sql<SqlBool>`COALESCE(JSON_TYPE(JSON_EXTRACT(${document}, ${jsonPath(path)})) IN ('INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL'), 0)`,
    hasValue: (path) => sql<SqlBool>`COALESCE(JSON_TYPE(JSON_EXTRACT(${document}, ${jsonPath(path)})), 'NULL') <> 'NULL'`,
    // utf8mb4_bin after folding: case-insensitive through LOWER, but never accent-insensitive as *_ci would be.
    folded: (value) => sql`LOWER(${value}) COLLATE utf8mb4_bin`,
    // The bytes read as latin1: an ASCII needle finds its ASCII bytes case-insensitively, and the multi-byte
    // characters around them can only add rows, never hide one. Four times cheaper than a utf8mb4 LIKE (110 against
    // 450 ms over 100k rows), a third of parsing every row's JSON.
    rawContains: (needle) =>
      sql<SqlBool>`CONVERT(l.serialized_data USING latin1) COLLATE latin1_general_ci LIKE ${`%${needle.replace(/[!%_]/g, (c) => `${ESCAPE}${c}`)}%`} ESCAPE '!'`,
  };
}

/**
 * Characters that every writer of serialized_data here spells as themselves inside a JSON string (PHP's
 * json_encode with Magento's default flags escapes "/", non-ASCII and, with JSON_HEX_* flags, < > & '; JSON.stringify
 * escapes only quotes, backslashes and controls) and that no other character lower-cases to: `i` and `k` are left
 * out because LOWER() turns İ (U+0130) and the Kelvin sign (U+212A) into them, and those are stored as \u0130 and
 * \u212a.
 */
const PLAIN_RUN = /[A-HJL-Za-hjl-z0-9 @._\-+=#$^~|;]+/g;
const MIN_NEEDLE = 3;

/**
 * The longest run of plain characters of a value compared whole against a data path, when the row's raw text must
 * contain it for the comparison to hold: the JSON value at the path is that text, spelled with escapes only where
 * the run has none. Not for numbers (the server may print a number differently from its source text, 1e2 as 100)
 * nor for objects and arrays (MySQL re-spaces their text); undefined when no run is long enough to narrow.
 */
export function rawNeedle(value: string): string | undefined {
  if (numericBound(value) !== undefined || /^\s*[[{]/.test(value)) return undefined;
  let best = '';
  // `=` in utf8mb4_bin pads with spaces: "abc" equals "abc  ", so trailing spaces need not be in the raw text.
  for (const [run] of value.replace(/ +$/, '').matchAll(PLAIN_RUN)) if (run.length > best.length) best = run;
  return best.length >= MIN_NEEDLE ? best : undefined;
}

/*
 * Whether a comparison with the folded data text could hold for the text `null` followed by spaces: what MySQL's
 * JSON_UNQUOTE prints for a JSON null, and what dataText's NULLIF (utf8mb4_bin, which pads with spaces) turns back
 * into NULL. When it cannot, dataTextOrNull gives the same answer. Only N, U and L lower-case to n, u and l (in SQL
 * as in JavaScript; non-ASCII never folds to ASCII in a JavaScript /i test), so an ASCII test decides it for any text.
 */

/** `=` under a PAD SPACE collation: trailing spaces do not count. */
export function mayEqualNull(value: string): boolean {
  return /^null *$/i.test(value);
}

/** LIKE does not pad: the pattern against `null` and 0…n spaces, n its fixed length (more spaces need a `*`, which can take fewer). */
export function mayMatchNull(pattern: readonly PatternPart[]): boolean {
  const source = pattern.map((part) => (part.kind === 'any' ? '.*' : part.kind === 'one' ? '.' : part.text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))).join('');
  const regExp = new RegExp(`^${source}$`, 'is');
  const fixed = pattern.reduce((length, part) => length + (part.kind === 'text' ? part.text.length : part.kind === 'one' ? 1 : 0), 0);
  for (let spaces = 0; spaces <= fixed; spaces++) if (regExp.test(`null${' '.repeat(spaces)}`)) return true;
  return false;
}

export function likePattern(pattern: readonly PatternPart[]): string {
  return pattern
    .map((part) => {
      if (part.kind === 'any') return '%';
      if (part.kind === 'one') return '_';
      return part.text.replace(/[!%_]/g, (c) => `${ESCAPE}${c}`);
    })
    .join('');
}

export function globPattern(pattern: readonly PatternPart[]): string {
  return pattern
    .map((part) => {
      if (part.kind === 'any') return '*';
      if (part.kind === 'one') return '?';
      return part.text.replace(/[*?[]/g, (c) => `[${c}]`);
    })
    .join('');
}

/**
 * The ways a text can be spelled inside serialized JSON: as typed, as JSON.stringify escapes it, and as PHP's
 * json_encode does by default (`/` as `\/`, non-ASCII as lower-case `\uXXXX`), since payloads keep PHP's bytes.
 */
export function jsonSpellings(pattern: readonly PatternPart[]): PatternPart[][] {
  const spell = (escape: (text: string) => string): PatternPart[] => pattern.map((part) => (part.kind === 'text' ? { kind: 'text', text: escape(part.text) } : part));
  const variants = [spell((t) => t), spell(jsonEscape), spell(phpJsonEscape)];
  const seen = new Set<string>();
  return variants.filter((variant) => {
    const key = JSON.stringify(variant);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function jsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function phpJsonEscape(text: string): string {
  return jsonEscape(text)
    .replace(/\//g, '\\/')
    .replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
