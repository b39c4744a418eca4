import { describe, expect, it } from 'vitest';
import type { AttemptEvent, SearchHit } from '../../src/api/dependencies.ts';
import { createLiveFeeds } from '../../src/api/graphql/live-feed.ts';
import { indentJson } from '../../src/api/graphql/pretty-json.ts';
import { REPLAY_QUERY_CAP, replayMatching } from '../../src/api/graphql/replay-query.ts';
import { AsyncEventsError, isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { pageOfHits } from '../support/search-pages.ts';

function hit(uuid: string, logId: number): SearchHit {
  return { logId, uuid, eventName: 'sales.order.created', success: false, created: new Date(0), subscriptionId: 1, recipientUrl: 'https://x.example', responseData: '' };
}

describe('indentJson', () => {
  it('indents like PHP pretty print and keeps every value byte for byte', () => {
    const text = '{"a":10.50,"big":12345678901234567890,"s":"x\\"y, z: {[","url":"https:\\/\\/e.x\\/","e":[],"o":{},"n":[1,{"k":null}]}';
    expect(indentJson(text)).toBe(
      [
        '{',
        '  "a": 10.50,',
        '  "big": 12345678901234567890,',
        '  "s": "x\\"y, z: {[",',
        '  "url": "https:\\/\\/e.x\\/",',
        '  "e": [],',
        '  "o": {},',
        '  "n": [',
        '    1,',
        '    {',
        '      "k": null',
        '    }',
        '  ]',
        '}',
      ].join('\n'),
    );
  });

  it('re-indents already indented JSON and leaves text that is not JSON alone', () => {
    expect(indentJson('{\n    "a" : [ 1 , 2 ]\n}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(indentJson('a:b:c{')).toBe('a:b:c{');
    expect(indentJson('"just a string"')).toBe('"just a string"');
  });
});

describe('live feeds', () => {
  const attempt = (logId: number, eventName = 'sales.order.created'): AttemptEvent => ({
    logId,
    uuid: `u${logId}`,
    subscriptionId: 1,
    eventName,
    success: true,
    deathCount: 0,
    chainStatus: 'delivered',
    created: new Date(0),
  });

  it('keeps only the newest attempts for a client that does not read, and unsubscribes on return', async () => {
    const listeners = new Set<(attempt: AttemptEvent) => void>();
    const feed = createLiveFeeds((listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    }, 3).open(undefined);
    const firstRead = feed.next();
    expect(listeners.size).toBe(1);
    for (let logId = 1; logId <= 1000; logId++) for (const listener of listeners) listener(attempt(logId));
    expect((await firstRead).value).toMatchObject({ logId: 1 });
    const rest: number[] = [];
    for (let i = 0; i < 3; i++) rest.push(((await feed.next()).value as AttemptEvent).logId);
    expect(rest).toEqual([998, 999, 1000]);
    await feed.return?.();
    expect(listeners.size).toBe(0);
  });
});

describe('replayMatching', () => {
  it('collects distinct UUIDs over every page, replays each once, and reports failures beside successes', async () => {
    const rows = Array.from({ length: 1203 }, (_, i) => hit(`uuid-${i % 601}`, i + 1));
    const pages: (number | undefined)[] = [];
    const replayed: string[] = [];
    const result = await replayMatching(
      {
        logger: silentLogger(),
        search: async (_query, page) => {
          pages.push(page.beforeLogId);
          return pageOfHits(rows, page);
        },
        replay: async (uuid) => {
          replayed.push(uuid);
          if (uuid === 'uuid-7') throw new AsyncEventsError('VALIDATION_FAILED', 'Subscription 1 is disabled; enable it before replaying "uuid-7"');
          if (uuid === 'uuid-8') throw new Error('socket hang up');
          return { uuid, subscriptionId: 1 };
        },
      },
      'success:false',
    );
    expect(pages).toEqual([undefined, 704, 204]);
    expect(result.matched).toBe(601);
    expect(replayed).toHaveLength(601);
    expect(new Set(replayed).size).toBe(601);
    expect(result.replayed).toHaveLength(599);
    expect(result.replayed[0]).toEqual({ uuid: 'uuid-0', subscriptionId: 1 });
    expect(result.failed).toEqual([
      { uuid: 'uuid-8', code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error; see the async-events log' },
      { uuid: 'uuid-7', code: 'VALIDATION_FAILED', message: 'Subscription 1 is disabled; enable it before replaying "uuid-7"' },
    ]);
  });

  it(`refuses a query matching more than ${REPLAY_QUERY_CAP} chains and replays none of them`, async () => {
    let replays = 0;
    const error = await replayMatching(
      {
        logger: silentLogger(),
        search: async (_query, page) => pageOfHits(Array.from({ length: 20_000 }, (_, i) => hit(`u-${i}`, i + 1)), page),
        replay: async (uuid) => {
          replays++;
          return { uuid, subscriptionId: 1 };
        },
      },
      'event_name:*',
    ).catch((thrown: unknown) => thrown);
    expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
    expect((error as AsyncEventsError).message).toContain(`more than ${REPLAY_QUERY_CAP}`);
    expect((error as AsyncEventsError).details).toMatchObject({ field: 'query', limit: REPLAY_QUERY_CAP });
    expect(replays).toBe(0);
  });
});
