import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeWith } from '../support/services.ts';
import { PhpJsonError, phpEscapeString, phpJsonEncode } from '../../src/sinks/php-json.ts';

/** The same value written as a PHP literal, so PHP sees ints as ints, floats as floats and objects as objects. */
function phpLiteral(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : `(float)"${Object.is(value, -0) ? '-0' : String(value)}"`;
  if (typeof value === 'string') {
    let out = '"';
    for (const char of value) {
      const code = char.codePointAt(0) ?? 0;
      if (code < 0x20 || code > 0x7e || '"\\$'.includes(char)) out += `\\u{${code.toString(16)}}`;
      else out += char;
    }
    return out + '"';
  }
  if (Array.isArray(value)) return `[${value.map(phpLiteral).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${phpLiteral(k)}=>${phpLiteral(v)}`);
  return `(object)[${entries.join(',')}]`;
}

const tricky: unknown[] = [
  null, true, false, 0, -1, 42, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
  0.1, 0.1 + 0.2, 1.5, -2.75, 100.25, 1e16 + 2, 1e17, 1.2345678901234568e17, 1e22, 1.5e300, 5e-324, 1e-4, 1e-5,
  0.00012345, 2.5e-7, -0, 123456.789, 9.999999999999999e-5, 1.7976931348623157e308, 3.14159265358979,
  '', 'plain', 'a/b/c', 'http://example.com/x?y=1&z=2', 'quote " backslash \\ slash /', 'tab\tnew\nline\r\u0008\u000c',
  '\u0000\u0001\u001f\u007f', 'é ü ß €', '😀 𝄞 emoji', 'zh 中文', '<script>&\'', 'U+2028 \u2028 U+2029 \u2029', '\ufeffBOM',
  [], {}, [[], {}], { a: [], b: {} }, { 'key/with"odd\\chars': 'ü' }, [1, 'two', 3.5, null, false],
  { nested: { deeper: { list: [1, { x: '/' }] } }, price: 12.5, qty: 3 },
  { entity_id: '12', items: [{ sku: 'MH01/XS', price: 52 }], extension_attributes: {} },
];

describeWith(['php'], 'phpJsonEncode against real php json_encode', () => {
  it('matches PHP byte for byte on a table of tricky values', () => {
    const script = tricky.map((value) => `echo json_encode(${phpLiteral(value)}), "\\n";`).join('\n');
    const php = execFileSync('php', ['-r', script], { encoding: 'utf8' }).split('\n');
    tricky.forEach((value, index) => {
      expect({ index, json: phpJsonEncode(value) }).toEqual({ index, json: php[index] });
    });
    expect(php).toHaveLength(tricky.length + 1);
  });

  it('escapes strings like PHP', () => {
    const strings = tricky.filter((v): v is string => typeof v === 'string');
    const script = strings.map((s) => `echo json_encode(${phpLiteral(s)}), "\\n";`).join('\n');
    const php = execFileSync('php', ['-r', script], { encoding: 'utf8' }).split('\n');
    strings.forEach((s, i) => expect(phpEscapeString(s)).toBe(php[i]));
  });
});

it('refuses what PHP refuses, naming where', () => {
  expect(() => phpJsonEncode({ a: [1, Number.NaN] })).toThrow(PhpJsonError);
  expect(() => phpJsonEncode({ a: [1, Number.POSITIVE_INFINITY] })).toThrow(/\$\.a\[1\]/);
  expect(() => phpJsonEncode({ s: 'x\ud800y' })).toThrow(/lone surrogate U\+D800 at index 1/);
  expect(() => phpJsonEncode(() => 1)).toThrow(/function has no JSON form/);
});

it('skips undefined members like JSON.stringify', () => {
  expect(phpJsonEncode({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
});
