import { apiError } from './api-error.ts';

/** A query value: a string, or a nested object built from PHP-style `a[b][0]=…` keys (arrays stay index-keyed). */
export type QueryValue = string | QueryObject;
export interface QueryObject {
  [key: string]: QueryValue;
}

function splitKey(raw: string): string[] {
  const open = raw.indexOf('[');
  if (open === -1) return [raw];
  const parts = [raw.slice(0, open)];
  let rest = raw.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^[\]]*)\]/.exec(rest);
    if (!match) {
      throw apiError('VALIDATION_FAILED', 'Query parameter "%fieldName" has unbalanced brackets.', { fieldName: raw });
    }
    parts.push(match[1] ?? '');
    rest = rest.slice(match[0].length);
  }
  if (parts[0] === '') throw apiError('VALIDATION_FAILED', 'Query parameter "%fieldName" has no name before its brackets.', { fieldName: raw });
  return parts;
}

/**
 * Parses a query string the way PHP fills `$_GET`, which is how Magento reads `searchCriteria[…]`: bracketed keys
 * nest, `[]` appends. Unlike PHP, a key given twice or used both as a value and as a parent is an error rather
 * than a silent overwrite, so a typo cannot drop a filter.
 */
export function parseNestedQuery(params: URLSearchParams): QueryObject {
  const root: QueryObject = {};
  for (const [rawKey, value] of params) {
    const parts = splitKey(rawKey);
    let node: QueryObject = root;
    for (let i = 0; i < parts.length; i += 1) {
      let part = parts[i] ?? '';
      const last = i === parts.length - 1;
      if (part === '' && i > 0) part = String(Object.keys(node).length);
      const existing = node[part];
      if (last) {
        if (typeof existing === 'object' && value === '') break;
        if (existing !== undefined) {
          throw apiError('VALIDATION_FAILED', 'Query parameter "%fieldName" is given more than once.', { fieldName: rawKey });
        }
        node[part] = value;
      } else {
        if (typeof existing === 'string') {
          // `searchCriteria=` (empty) followed by `searchCriteria[pageSize]=…` is common in clients: the empty
          // value means "no criteria" and is superseded by the nested keys.
          if (existing !== '') {
            throw apiError('VALIDATION_FAILED', 'Query parameter "%fieldName" is given both as a value and with nested keys.', { fieldName: parts.slice(0, i + 1).join('') });
          }
        }
        if (existing === undefined || typeof existing === 'string') {
          const child: QueryObject = {};
          node[part] = child;
          node = child;
        } else {
          node = existing;
        }
      }
    }
  }
  return root;
}
