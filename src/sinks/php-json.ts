/**
 * JSON exactly as PHP's `json_encode($value)` writes it with default flags (0), which is what upstream signs and
 * sends: `/` escaped as `\/`, every non-ASCII character as a lower-case `\uXXXX` escape (astral characters as a
 * surrogate pair), no whitespace, and floats formatted like PHP with `serialize_precision = -1`.
 *
 * JavaScript cannot tell `1.0` from `1`, so a safe integer is written as an integer and every other number the
 * way PHP writes a float (`1.0e+17`, `1.0e-5`, `-0`). JavaScript objects with integer-like keys enumerate those
 * keys first, unlike PHP arrays; build such maps as arrays of pairs if order matters.
 */

export class PhpJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhpJsonError';
  }
}

export interface PhpJsonOptions {
  /**
   * Treat objects as the PHP arrays they were on the publishing side: keys 0..n-1 in order make a JSON list, and an
   * empty one is `[]` (the named arguments of a trigger message, the fields of a retry message).
   */
  readonly phpArrays?: boolean;
}

export function phpJsonEncode(value: unknown, options: PhpJsonOptions = {}): string {
  const out: string[] = [];
  encodeValue(value, out, '$', options.phpArrays === true);
  return out.join('');
}

/** A JSON string literal, quotes included, as PHP writes it. */
export function phpEscapeString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    switch (code) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x2f: out += '\\/'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
    }
    if (code < 0x20 || code > 0x7f) {
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        const pairs = code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
        // PHP refuses malformed UTF-8 (JSON_ERROR_UTF8); a lone surrogate is its JavaScript counterpart.
        if (!pairs) throw new PhpJsonError(`lone surrogate U+${code.toString(16).toUpperCase()} at index ${i} cannot be encoded as UTF-8`);
        out += unicodeEscape(code) + unicodeEscape(next);
        i++;
        continue;
      }
      out += unicodeEscape(code);
      continue;
    }
    out += text[i];
  }
  return out + '"';
}

/** A number as PHP's json_encode writes it (see the module comment for integer versus float). */
export function phpNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new PhpJsonError(`${value} is not representable in JSON (PHP json_encode fails with "Inf and NaN cannot be JSON encoded")`);
  if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
  return phpFloat(value);
}

function unicodeEscape(code: number): string {
  return '\\u' + code.toString(16).padStart(4, '0');
}

/** php_gcvt(value, 17, '.', 'e') on the shortest round-trip digits (zend_dtoa mode 0). */
function phpFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const exponential = Math.abs(value).toExponential();
  const match = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exponential);
  if (!match) throw new PhpJsonError(`cannot format ${value}`);
  const digits = (match[1] ?? '') + (match[2] ?? '');
  const decpt = Number(match[3]) + 1;
  if (decpt < 0 ? decpt < -3 : decpt > 17) {
    const exponent = decpt - 1;
    const mantissa = digits.length === 1 ? `${digits}.0` : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return sign + digits + '0'.repeat(decpt - digits.length);
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

function encodeValue(value: unknown, out: string[], path: string, phpArrays: boolean): void {
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
      encodeValue(item === undefined ? null : item, out, `${path}[${index}]`, phpArrays);
    });
    out.push(']');
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
  if (phpArrays && entries.every(([key], index) => key === String(index))) {
    encodeValue(
      entries.map(([, item]) => item),
      out,
      path,
      phpArrays,
    );
    return;
  }
  out.push('{');
  entries.forEach(([key, item], index) => {
    if (index > 0) out.push(',');
    out.push(phpEscapeString(key), ':');
    encodeValue(item, out, `${path}.${key}`, phpArrays);
  });
  out.push('}');
}
