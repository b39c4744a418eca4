import { PhpJsonError, phpEscapeString, phpNumber } from '../sinks/php-json.ts';

/*
 * `json_encode($array)` with default flags, for values that were PHP arrays on the publishing side (the named
 * service arguments of a trigger message, the fields of a retry message). A PHP array is a JSON list when its keys
 * are 0..n-1 in order and an object otherwise; an empty one is `[]`. Strings and numbers are written like PHP
 * (`\/`, lower-case `\uXXXX`, PHP floats) by the shared encoder of src/sinks/php-json.ts.
 */

export function phpArrayJsonEncode(value: unknown): string {
  const out: string[] = [];
  encode(value, out, '$');
  return out.join('');
}

function isPhpList(entries: readonly (readonly [string, unknown])[]): boolean {
  return entries.every(([key], index) => key === String(index));
}

function encode(value: unknown, out: string[], path: string): void {
  if (value === null || value === undefined) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
    case 'bigint':
      try {
        out.push(phpNumber(value));
      } catch (error) {
        throw new PhpJsonError(`${path}: ${(error as Error).message}`);
      }
      return;
    case 'string':
      try {
        out.push(phpEscapeString(value));
      } catch (error) {
        throw new PhpJsonError(`${path}: ${(error as Error).message}`);
      }
      return;
    case 'object':
      break;
    default:
      throw new PhpJsonError(`${path}: a ${typeof value} has no JSON form`);
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item: unknown, index) => {
      if (index > 0) out.push(',');
      encode(item, out, `${path}[${index}]`);
    });
    out.push(']');
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
  if (isPhpList(entries)) {
    encode(
      entries.map(([, item]) => item),
      out,
      path,
    );
    return;
  }
  out.push('{');
  entries.forEach(([key, item], index) => {
    if (index > 0) out.push(',');
    out.push(phpEscapeString(key), ':');
    encode(item, out, `${path}.${key}`);
  });
  out.push('}');
}
