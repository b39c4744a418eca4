import { AsyncEventsError } from '../../errors.ts';
import { matchingUuids } from '../../search/matches.ts';
import type { ApiDependencies } from '../dependencies.ts';
import { graphqlCode, inputError } from './errors.ts';

/** Most chains one `replayQuery` may replay; larger selections must be narrowed first. */
export const REPLAY_QUERY_CAP = 10_000;
/** Replays run their first attempt right away; a few at a time keeps recipients and the store unhurried. */
const REPLAY_CONCURRENCY = 4;

export interface ReplayQueryResult {
  readonly matched: number;
  readonly replayed: readonly { uuid: string; subscriptionId: number }[];
  readonly failed: readonly { uuid: string; code: string; message: string }[];
}

/**
 * Replays every chain with an attempt matching the query. All UUIDs are collected before the first replay, so the
 * attempts a replay logs cannot shift the pages still being read, and a query over the cap replays nothing.
 */
export async function replayMatching(
  deps: Pick<ApiDependencies, 'search' | 'replay' | 'logger'>,
  query: string,
  /** Throws (FORBIDDEN) for a chain of an event the caller may not replay; that chain then fails alone. */
  authorize: (eventName: string) => Promise<void> = async () => undefined,
): Promise<ReplayQueryResult> {
  if (query.trim() === '') throw inputError('query', 'must not be empty; an empty query would replay every delivery in the log');
  const events = await matchingChains(deps, query);
  const uuids = [...events.keys()];
  const replayed: { uuid: string; subscriptionId: number }[] = [];
  const failed: { uuid: string; code: string; message: string }[] = [];
  const queue = [...uuids];
  const worker = async (): Promise<void> => {
    for (let uuid = queue.shift(); uuid !== undefined; uuid = queue.shift()) {
      try {
        await authorize(events.get(uuid) ?? '');
        replayed.push(await deps.replay(uuid));
      } catch (thrown) {
        if (thrown instanceof AsyncEventsError) {
          failed.push({ uuid, code: graphqlCode(thrown.code), message: thrown.message });
        } else {
          deps.logger.error({ err: thrown, uuid }, 'replay by query failed unexpectedly');
          failed.push({ uuid, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error; see the async-events log' });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(REPLAY_CONCURRENCY, uuids.length) }, worker));
  const order = new Map(uuids.map((uuid, index) => [uuid, index]));
  const byMatchOrder = (a: { uuid: string }, b: { uuid: string }): number => (order.get(a.uuid) ?? 0) - (order.get(b.uuid) ?? 0);
  return { matched: uuids.length, replayed: replayed.sort(byMatchOrder), failed: failed.sort(byMatchOrder) };
}

function matchingChains(deps: Pick<ApiDependencies, 'search'>, query: string): Promise<Map<string, string>> {
  const tooMany = (limit: number) =>
    new AsyncEventsError(
      'VALIDATION_FAILED',
      `Invalid value of "query": it matches more than ${limit} deliveries; narrow it, e.g. with AND created:[2024-01-01 TO 2024-01-31], and replay in parts`,
      { field: 'query', limit },
    );
  return matchingUuids((text, page) => deps.search(text, page), query, REPLAY_QUERY_CAP, tooMany);
}
