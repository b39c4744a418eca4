import { describe, expect, it } from 'vitest';
import { cleanLibxmlMessage, validateAsyncEventsFile } from '../../src/config/xsd.ts';

describe('validateAsyncEventsFile', () => {
  it('points schema errors at the start of the element, even across lines', async () => {
    const text = '<config>\n  <async_event\n     nam="c"\n  >\n    <service class="x" method="y"/>\n  </async_event>\n</config>\n';
    const verdict = await validateAsyncEventsFile('etc/async_events.xml', text);
    expect(verdict.valid).toBe(false);
    expect(verdict.errors).toEqual([
      { file: 'etc/async_events.xml', line: 2, column: 3, message: "Element 'async_event', attribute 'nam': The attribute 'nam' is not allowed." },
      { file: 'etc/async_events.xml', line: 2, column: 3, message: "Element 'async_event': The attribute 'name' is required but missing." },
    ]);
  });

  it('gives malformed XML its line and the caret column', async () => {
    const verdict = await validateAsyncEventsFile('x.xml', '<config>\n  <async_event name="a">\n    <service class="A" method="b">\n  </async_event>\n</config>\n');
    // libxml's caret stands just after the offending end tag.
    expect(verdict.errors[0]).toEqual({ file: 'x.xml', line: 4, column: 17, message: 'malformed XML: Opening and ending tag mismatch: service line 3 and async_event' });
  });

  it('accepts a valid file', async () => {
    expect(await validateAsyncEventsFile('ok.xml', '<config><async_event name="a.b"><service class="A" method="b"/></async_event></config>')).toEqual({ file: 'ok.xml', valid: true, errors: [] });
  });
});

describe('cleanLibxmlMessage', () => {
  it('drops the channel prefix and the precomputed-value echo, and explains duplicates and patterns', () => {
    expect(cleanLibxmlMessage("Schemas validity error : Element 'bogus': This element is not expected.")).toBe("Element 'bogus': This element is not expected.");
    expect(cleanLibxmlMessage("Schemas validity error : Element 'async_event', attribute 'name': Warning: No precomputed value available, the value was either invalid or something strange happened.")).toBeUndefined();
    expect(cleanLibxmlMessage("Schemas validity error : Element 'async_event': Duplicate key-sequence ['a.b'] in unique identity-constraint 'x'.")).toBe(
      "Element 'async_event': duplicate event name 'a.b' (each name may appear once per file)",
    );
    expect(cleanLibxmlMessage("Schemas validity error : Element 'async_event', attribute 'name': [facet 'pattern'] The value 'a b' is not accepted by the pattern '[a-z]+'.")).toBe(
      "Element 'async_event', attribute 'name': 'a b' is not a valid event name (use one or more of a-z A-Z 0-9 . _ -)",
    );
    expect(cleanLibxmlMessage('parser error : Document is empty')).toBe('malformed XML: Document is empty');
  });
});
