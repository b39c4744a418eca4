/*
 * Where a JSON text goes wrong. `JSON.parse` says so in words that change between Node versions and often
 * without a position, so a parked message's reason comes from this small scanner of RFC 8259 instead.
 */

export interface JsonSyntaxError {
  /** 0-based index of the offending character (the text's length for an early end). */
  readonly position: number;
  readonly reason: string;
}

class Stop extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;

  const describe = (at: number): string => (at >= text.length ? 'end of input' : `${JSON.stringify(text[at])}`);
  const fail = (reason: string): never => {
    throw new Stop(i, `${reason}, found ${describe(i)}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    for (const char of word) {
      if (text[i] !== char) fail(`expected "${word}"`);
      i++;
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail('expected a digit');
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return;
      }
      if (code < 0x20) fail('control character in string (must be escaped)');
      if (code === 0x5c) {
        i++;
        const escape = text[i];
        if (escape === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('expected 4 hex digits after \\u');
            i++;
          }
          continue;
        }
        if (escape === undefined || !'"\\/bfnrt'.includes(escape)) fail('invalid escape in string');
      }
      i++;
    }
  };
  const value = (): void => {
    skipSpace();
    const char = text[i];
    if (char === '{') {
      i++;
      skipSpace();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        string();
        skipSpace();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        value();
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("expected ',' or '}' after property value");
      }
    }
    if (char === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("expected ',' or ']' after array element");
      }
    }
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === '-' || /[0-9]/.test(char ?? '')) return number();
    fail('expected a JSON value');
  };

  try {
    value();
    skipSpace();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return { position: error.position, reason: error.reason };
    throw error;
  }
}
