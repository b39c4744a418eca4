import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import { compileMatcher } from './evaluate.ts';
import { parseQuery } from './query.ts';

/*
 * A subscription's `event_name` as a pattern in the search syntax's wildcard form (`sales.order.*`, `*.created`,
 * `*`, `\*` for a literal star): the same text matches the same events here as `event_name:<text>` does in the log
 * search, because it is that query, parsed and evaluated by the search stage.
 */

export interface EventPattern {
  readonly text: string;
  /** False for a plain event name, which matches only itself. */
  readonly wildcard: boolean;
  matches(eventName: string): boolean;
}

const PREFIX = 'event_name:';

export function parseEventPattern(text: string): EventPattern {
  let node;
  try {
    node = parseQuery(`${PREFIX}${text}`);
  } catch (error) {
    if (!isAsyncEventsError(error, 'QUERY_SYNTAX')) throw error;
    const position = Math.max(1, Number(error.details.position) - PREFIX.length);
    throw new AsyncEventsError('VALIDATION_FAILED', `event_name "${text}" is not an event name or pattern (position ${position})`, { field: 'event_name', position });
  }
  if (text.trim() === '' || (node.kind !== 'equals' && node.kind !== 'like' && node.kind !== 'exists')) {
    throw new AsyncEventsError('VALIDATION_FAILED', `event_name "${text}" must be one event name or one pattern such as sales.order.*`, { field: 'event_name' });
  }
  const matcher = compileMatcher(node);
  return { text, wildcard: node.kind !== 'equals', matches: (eventName) => matcher({ eventName, document: null }) };
}
