import { readFile } from 'node:fs/promises';
import { Engine } from 'php-parser';
import { AsyncEventsError } from '../errors.ts';

/**
 * Evaluates the `return [ ... ];` of Magento's `app/etc/config.php` and `env.php` without a PHP binary: only
 * literals are understood (arrays, strings, numbers, booleans, null, `.` between literals and the PDO MySQL
 * constants Magento writes into `driver_options`). Anything that would need PHP to run (variables, function
 * calls, `getenv()`, includes) is refused with file:line, because guessing its value could point the sidecar at
 * the wrong database.
 */

/** A PHP value as plain JS: a list (keys 0..n-1 in order) becomes an array, any other PHP array an object. */
export type PhpValue = string | number | boolean | null | PhpValue[] | { [key: string]: PhpValue };
export type PhpObject = { [key: string]: PhpValue };

/** Values of `PDO::MYSQL_ATTR_*` in PHP 8 with mysqlnd (checked with `php -r`). */
const PDO_CONSTANTS: Readonly<Record<string, number>> = {
  MYSQL_ATTR_USE_BUFFERED_QUERY: 1000,
  MYSQL_ATTR_LOCAL_INFILE: 1001,
  MYSQL_ATTR_INIT_COMMAND: 1002,
  MYSQL_ATTR_COMPRESS: 1003,
  MYSQL_ATTR_DIRECT_QUERY: 1004,
  MYSQL_ATTR_FOUND_ROWS: 1005,
  MYSQL_ATTR_IGNORE_SPACE: 1006,
  MYSQL_ATTR_SSL_KEY: 1007,
  MYSQL_ATTR_SSL_CERT: 1008,
  MYSQL_ATTR_SSL_CA: 1009,
  MYSQL_ATTR_SSL_CAPATH: 1010,
  MYSQL_ATTR_SSL_CIPHER: 1011,
  MYSQL_ATTR_SERVER_PUBLIC_KEY: 1012,
  MYSQL_ATTR_MULTI_STATEMENTS: 1013,
  MYSQL_ATTR_SSL_VERIFY_SERVER_CERT: 1014,
  MYSQL_ATTR_LOCAL_INFILE_DIRECTORY: 1015,
};

/** The few AST fields we read; php-parser's own typings are class-based and loose. */
interface AstNode {
  readonly kind: string;
  readonly loc?: { readonly start: { readonly line: number; readonly column: number } } | null;
  readonly [field: string]: unknown;
}

type PhpKey = string | number;

function makeParser(): Engine {
  return new Engine({
    parser: { php8: true, suppressErrors: false, extractDoc: false },
    ast: { withPositions: true, withSource: false },
  });
}

function lineOf(node: AstNode): number {
  return node.loc?.start.line ?? 0;
}

function unsupported(file: string, node: AstNode, what: string): AsyncEventsError {
  const line = lineOf(node);
  return new AsyncEventsError(
    'CONFIG_INVALID',
    `${file}:${line}: ${what} is not supported here; only literal arrays, strings, numbers, booleans, null and '.' between literals can be read without running PHP`,
    { file, line },
  );
}

/** PHP integer/float literal text → number, as the PHP lexer reads it. */
function parseNumber(raw: string): number {
  const text = raw.replace(/_/g, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^0[bB][01]+$/.test(text)) return Number.parseInt(text.slice(2), 2);
  if (/^0[oO][0-7]+$/.test(text)) return Number.parseInt(text.slice(2), 8);
  if (/^0[0-7]+$/.test(text)) return Number.parseInt(text.slice(1), 8);
  return Number(text);
}

/** How PHP turns a scalar into a string for `.`. */
function phpToString(value: PhpValue, file: string, node: AstNode): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    return String(value).replace('e+', 'E+').replace('e-', 'E-');
  }
  if (value === true) return '1';
  if (value === false || value === null) return '';
  throw unsupported(file, node, 'concatenating an array');
}

/** PHP's array key normalisation: "5" → 5, true → 1, null → "", 1.7 → 1. */
function normaliseKey(key: PhpValue, file: string, node: AstNode): PhpKey {
  if (typeof key === 'string') {
    if (/^(0|-?[1-9][0-9]*)$/.test(key) && Number.isSafeInteger(Number(key))) return Number(key);
    return key;
  }
  if (typeof key === 'number') return Math.trunc(key);
  if (typeof key === 'boolean') return key ? 1 : 0;
  if (key === null) return '';
  throw unsupported(file, node, 'an array used as an array key');
}

function toPlain(entries: Map<PhpKey, PhpValue>): PhpValue[] | PhpObject {
  let index = 0;
  let isList = true;
  for (const key of entries.keys()) {
    if (key !== index) {
      isList = false;
      break;
    }
    index += 1;
  }
  if (isList) return [...entries.values()];
  const object: PhpObject = {};
  for (const [key, value] of entries) object[String(key)] = value;
  return object;
}

function evaluateArray(node: AstNode, file: string): PhpValue[] | PhpObject {
  const entries = new Map<PhpKey, PhpValue>();
  let nextIndex = 0;
  for (const item of node.items as AstNode[]) {
    if (item.kind === 'noop') continue;
    const entry = item.kind === 'entry' ? item : undefined;
    if (entry && (entry.byRef === true || entry.unpack === true)) throw unsupported(file, item, 'a by-reference or spread array entry');
    const valueNode = (entry ? entry.value : item) as AstNode;
    const keyNode = entry ? (entry.key as AstNode | null) : null;
    const value = evaluate(valueNode, file);
    let key: PhpKey;
    if (keyNode) {
      key = normaliseKey(evaluate(keyNode, file), file, keyNode);
    } else {
      key = nextIndex;
    }
    if (typeof key === 'number' && key >= nextIndex) nextIndex = key + 1;
    entries.set(key, value);
  }
  return toPlain(entries);
}

function evaluateStaticLookup(node: AstNode, file: string): number {
  const what = node.what as AstNode;
  const offset = node.offset as AstNode;
  const className = typeof what.name === 'string' ? what.name.replace(/^\\/, '') : '';
  const constant = typeof offset.name === 'string' ? offset.name : '';
  const value = className === 'PDO' ? PDO_CONSTANTS[constant] : undefined;
  if (value === undefined) throw unsupported(file, node, `the class constant ${className || '?'}::${constant || '?'}`);
  return value;
}

function evaluate(node: AstNode, file: string): PhpValue {
  switch (node.kind) {
    case 'array':
      return evaluateArray(node, file);
    case 'string':
    case 'nowdoc':
      return String(node.value);
    case 'encapsed': {
      // Heredoc or "…" with interpolation: fine only when every part is plain text.
      const parts = node.value as AstNode[];
      return parts
        .map((part) => {
          const expression = (part.kind === 'encapsedpart' ? part.expression : part) as AstNode;
          if (expression.kind !== 'string') throw unsupported(file, expression, 'variable interpolation in a string');
          return String(expression.value);
        })
        .join('');
    }
    case 'number':
      return parseNumber(String(node.value));
    case 'boolean':
      return node.value === true;
    case 'nullkeyword':
      return null;
    case 'unary': {
      const operand = evaluate(node.what as AstNode, file);
      if (typeof operand !== 'number' || (node.type !== '-' && node.type !== '+')) {
        throw unsupported(file, node, `the unary operator '${String(node.type)}'`);
      }
      return node.type === '-' ? -operand : operand;
    }
    case 'bin': {
      if (node.type !== '.') throw unsupported(file, node, `the operator '${String(node.type)}'`);
      const left = evaluate(node.left as AstNode, file);
      const right = evaluate(node.right as AstNode, file);
      return phpToString(left, file, node.left as AstNode) + phpToString(right, file, node.right as AstNode);
    }
    case 'staticlookup':
      return evaluateStaticLookup(node, file);
    case 'name':
      throw unsupported(file, node, `the constant ${String(node.name)}`);
    case 'variable':
      throw unsupported(file, node, `the variable $${String(node.name)}`);
    case 'call':
      throw unsupported(file, node, 'a function call');
    default:
      throw unsupported(file, node, `a PHP '${node.kind}' expression`);
  }
}

/**
 * Evaluates PHP source whose top level is `return <literal>;` (an opening tag, comments and `declare(...)` may
 * precede it). `file` is only used in error messages.
 */
export function evaluatePhpReturn(code: string, file: string): PhpValue {
  let program: AstNode;
  try {
    program = makeParser().parseCode(code, file) as unknown as AstNode;
  } catch (thrown) {
    const syntax = thrown as { message?: string; lineNumber?: number };
    const line = typeof syntax.lineNumber === 'number' ? syntax.lineNumber : 0;
    const reason = (syntax.message ?? String(thrown)).replace(/ on line \d+$/, '');
    throw new AsyncEventsError('CONFIG_INVALID', `${file}:${line}: PHP syntax error: ${reason}`, { file, line }, { cause: thrown });
  }
  for (const statement of program.children as AstNode[]) {
    if (statement.kind === 'declare' || statement.kind === 'noop') continue;
    if (statement.kind === 'return') {
      const expression = statement.expr as AstNode | null;
      if (!expression) throw unsupported(file, statement, 'an empty return');
      return evaluate(expression, file);
    }
    throw unsupported(file, statement, `a '${statement.kind}' statement before the return`);
  }
  throw new AsyncEventsError('CONFIG_INVALID', `${file}:1: no 'return [...];' found`, { file, line: 1 });
}

/** Reads and evaluates a PHP array file; `displayName` (e.g. relative to the Magento root) is used in errors. */
export async function readPhpArrayFile(path: string, displayName: string = path): Promise<PhpValue> {
  let code: string;
  try {
    code = await readFile(path, 'utf8');
  } catch (thrown) {
    throw new AsyncEventsError('CONFIG_UNREADABLE', `${displayName}: cannot read: ${(thrown as Error).message}`, { file: displayName }, { cause: thrown });
  }
  return evaluatePhpReturn(code, displayName);
}

export function isPhpObject(value: PhpValue | undefined): value is PhpObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads `a.b.c` from nested PHP arrays (objects or lists). */
export function phpPath(value: PhpValue | undefined, path: readonly string[]): PhpValue | undefined {
  let current: PhpValue | undefined = value;
  for (const segment of path) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isPhpObject(current)) current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    else return undefined;
  }
  return current;
}
