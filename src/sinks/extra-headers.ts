/*
 * Extra request headers a subscription may ask the http sink to send (an API key of the receiver, a tenant id).
 * The sink owns the headers that make a delivery what it is, so those can never be replaced from outside: the
 * signatures, the body's framing and the connection.
 */

export const RESERVED_HEADER_NAMES: readonly string[] = [
  'x-magento-signature',
  'x-magento-signature-previous',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'user-agent',
];

const NAME = /^[A-Za-z0-9-]+$/;
const MAX_HEADERS = 20;
const MAX_NAME_LENGTH = 64;
const MAX_VALUE_LENGTH = 1024;

export interface HeaderProblem {
  /** `headers.<name>`, or `headers` for the whole set. */
  readonly field: string;
  readonly message: string;
}

/** Every problem of a set of extra headers, each naming the header; empty when the set can be sent. */
export function extraHeaderProblems(headers: Readonly<Record<string, string>>): HeaderProblem[] {
  const names = Object.keys(headers);
  const problems: HeaderProblem[] = [];
  if (names.length > MAX_HEADERS) problems.push({ field: 'headers', message: `at most ${MAX_HEADERS} extra headers, got ${names.length}` });
  const seen = new Set<string>();
  for (const name of names) {
    const field = `headers.${name}`;
    const lower = name.toLowerCase();
    const value = headers[name] ?? '';
    if (!NAME.test(name)) problems.push({ field, message: `header name "${name}" may contain only letters, digits and "-"` });
    else if (name.length > MAX_NAME_LENGTH) problems.push({ field, message: `header name is longer than ${MAX_NAME_LENGTH} characters` });
    else if (RESERVED_HEADER_NAMES.includes(lower)) problems.push({ field, message: `header "${name}" is set by the sidecar itself and cannot be replaced` });
    else if (seen.has(lower)) problems.push({ field, message: `header "${name}" is given twice (header names ignore case)` });
    seen.add(lower);
    // Tab and visible characters only: a CR or LF would let a value start a header of its own.
    if (typeof value !== 'string' || !/^[\t\x20-\x7e\x80-\uffff]*$/.test(value)) problems.push({ field, message: 'header value may not contain control characters (CR, LF, NUL…)' });
    else if (value.length > MAX_VALUE_LENGTH) problems.push({ field, message: `header value is longer than ${MAX_VALUE_LENGTH} characters` });
  }
  return problems;
}

/**
 * The extra headers the http sink sends: the subscription service refused bad ones, but a row written past it (by
 * hand) must still never replace a header of the sink's or split a request, so those are dropped here.
 */
export function sendableExtraHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  if (headers === undefined) return {};
  const sendable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (extraHeaderProblems({ [name]: value }).length === 0) sendable[name] = value;
  }
  return sendable;
}
