/**
 * Indents JSON text for display without parsing it into JavaScript values, so every number and string keeps the
 * exact bytes PHP's json_encode wrote (big integers, `10.50`, escaped slashes). Text that is not JSON comes back
 * unchanged.
 */
export function indentJson(text: string, indent = '  '): string {
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  let out = '';
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    switch (char) {
      case '"':
        inString = true;
        out += char;
        break;
      case '{':
      case '[': {
        const close = char === '{' ? '}' : ']';
        const next = nextSignificant(text, i + 1);
        if (text[next] === close) {
          // Empty containers stay on one line, as PHP's JSON_PRETTY_PRINT writes them.
          out += char + close;
          i = next;
        } else {
          depth++;
          out += char + '\n' + indent.repeat(depth);
        }
        break;
      }
      case '}':
      case ']':
        depth--;
        out += '\n' + indent.repeat(depth) + char;
        break;
      case ',':
        out += ',\n' + indent.repeat(depth);
        break;
      case ':':
        out += ': ';
        break;
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      default:
        out += char;
    }
  }
  return out;
}

function nextSignificant(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  return i;
}
