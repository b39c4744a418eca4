import { readFile } from 'node:fs/promises';
import { validateXML } from 'xmllint-wasm';
import { packagePath } from '../package-root.ts';
import type { ConfigFileError } from './config-error.ts';

/**
 * Validation of `etc/async_events.xml` files against our `schemas/async_events.xsd` with libxml2 (xmllint-wasm),
 * turning xmllint's text output into located, readable errors. Many files go through one xmllint run, because
 * each run starts a worker thread.
 */

export const ASYNC_EVENTS_XSD_PATH = packagePath('schemas', 'async_events.xsd');

export interface XmlDocument {
  /** Name used in errors (relative to the Magento root). */
  readonly file: string;
  readonly text: string;
}

export interface XmlVerdict {
  readonly file: string;
  readonly valid: boolean;
  readonly errors: readonly ConfigFileError[];
}

let schemaText: Promise<string> | undefined;

function loadSchema(): Promise<string> {
  schemaText ??= readFile(ASYNC_EVENTS_XSD_PATH, 'utf8');
  return schemaText;
}

const LINE_ERROR = /^(doc\d+\.xml):(\d+): (.*)$/;
const VERDICT = /^(doc\d+\.xml) (validates|fails to validate)$/;

/** libxml's wording, minus its channel prefixes and internal names, plus a hint where one helps. */
export function cleanLibxmlMessage(raw: string): string | undefined {
  let message = raw.trim();
  if (/Warning: No precomputed value available/.test(message)) return undefined; // echo of a facet error just reported
  const parser = /^(?:parser|namespace) (?:error|warning) : (.*)$/.exec(message);
  if (parser?.[1] !== undefined) return `malformed XML: ${parser[1]}`;
  message = message.replace(/^Schemas validity (?:error|warning) : /, '');
  const duplicate = /^Element '([^']+)': Duplicate key-sequence \['(.*)'\] in unique identity-constraint '[^']*'\.$/.exec(message);
  const pattern = /^Element '([^']+)', attribute 'name': \[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '[^']*'\.$/.exec(message);
  if (pattern) return `Element '${pattern[1]}', attribute 'name': '${pattern[2]}' is not a valid event name (use one or more of a-z A-Z 0-9 . _ -)`;
  if (duplicate) return `Element '${duplicate[1]}': duplicate event name '${duplicate[2]}' (each name may appear once per file)`;
  if (/No matching global declaration available for the validation root/.test(message)) {
    return `${message} The root element must be <config> with no namespace.`;
  }
  return message;
}

/** Column of an element named in a schema error, found on (or just above) the reported line. */
function elementColumn(lines: readonly string[], line: number, message: string): { line: number; column: number } | undefined {
  const element = /^Element '([^']+)'/.exec(message)?.[1];
  if (!element) return undefined;
  const tag = new RegExp(`<${element.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s/>]|$)`);
  // libxml reports the line where the start tag ends; a tag split over lines starts a little above.
  for (let candidate = line; candidate >= Math.max(1, line - 20); candidate -= 1) {
    const index = lines[candidate - 1]?.search(tag) ?? -1;
    if (index >= 0) return { line: candidate, column: index + 1 };
  }
  return undefined;
}

interface Pending {
  readonly docIndex: number;
  readonly line: number;
  readonly message: string;
  readonly parser: boolean;
  context?: string;
  column?: number;
}

/** Validates documents against our async_events.xsd in one xmllint run. */
export async function validateAsyncEventsXml(documents: readonly XmlDocument[]): Promise<XmlVerdict[]> {
  if (documents.length === 0) return [];
  const schema = await loadSchema();
  const result = await validateXML({
    xml: documents.map((document, index) => ({ fileName: `doc${index}.xml`, contents: document.text })),
    schema: [{ fileName: 'async_events.xsd', contents: schema }],
  });

  const verdicts = documents.map(() => ({ validates: false, errors: [] as Pending[] }));
  let last: Pending | undefined;
  for (const outputLine of result.rawOutput.split('\n')) {
    const verdict = VERDICT.exec(outputLine);
    if (verdict) {
      const slot = verdicts[Number(verdict[1]?.slice(3, -4))];
      if (slot) slot.validates = verdict[2] === 'validates';
      last = undefined;
      continue;
    }
    const located = LINE_ERROR.exec(outputLine);
    if (located) {
      const docIndex = Number(located[1]?.slice(3, -4));
      const text = located[3] ?? '';
      last = { docIndex, line: Number(located[2]), message: text, parser: /^(?:parser|namespace) (?:error|warning) :/.test(text) };
      verdicts[docIndex]?.errors.push(last);
      continue;
    }
    // A parser error is followed by the source line it happened on and a caret under the position.
    if (last?.parser && last.context === undefined) {
      last.context = outputLine;
    } else if (last?.parser && last.column === undefined && /^\s*\^$/.test(outputLine)) {
      last.column = outputLine.indexOf('^') + 1;
    }
  }

  return documents.map((document, index) => {
    const slot = verdicts[index];
    const lines = document.text.split(/\r?\n/);
    const errors: ConfigFileError[] = [];
    for (const pending of slot?.errors ?? []) {
      const message = cleanLibxmlMessage(pending.message);
      if (message === undefined) continue;
      let column: number | undefined;
      let line = pending.line;
      if (pending.parser) {
        // The context is cut to 80 characters; trust the caret only when the context is the line's beginning.
        const sourceLine = lines[pending.line - 1] ?? '';
        if (pending.column !== undefined && pending.context !== undefined && pending.context !== '' && sourceLine.startsWith(pending.context)) {
          column = pending.column;
        }
      } else {
        const start = elementColumn(lines, pending.line, message);
        if (start) ({ line, column } = start);
      }
      errors.push({ file: document.file, line, ...(column !== undefined ? { column } : {}), message });
    }
    const valid = slot?.validates === true && errors.length === 0;
    if (!valid && errors.length === 0) errors.push({ file: document.file, line: 1, message: 'rejected by xmllint without a reason' });
    return { file: document.file, valid, errors };
  });
}

/** Validates one file's text against our async_events.xsd. */
export async function validateAsyncEventsFile(file: string, text: string): Promise<XmlVerdict> {
  const [verdict] = await validateAsyncEventsXml([{ file, text }]);
  if (!verdict) throw new Error('xmllint returned no verdict');
  return verdict;
}

/** Validates documents against any schema text (tests compare our schema with upstream's this way). */
export async function validatesAgainst(schema: string, documents: readonly string[]): Promise<boolean[]> {
  if (documents.length === 0) return [];
  const result = await validateXML({
    xml: documents.map((contents, index) => ({ fileName: `doc${index}.xml`, contents })),
    schema: [{ fileName: 'schema.xsd', contents: schema }],
  });
  const valid = documents.map(() => false);
  for (const outputLine of result.rawOutput.split('\n')) {
    const verdict = VERDICT.exec(outputLine);
    if (verdict?.[2] === 'validates') valid[Number(verdict[1]?.slice(3, -4))] = true;
  }
  return valid;
}
