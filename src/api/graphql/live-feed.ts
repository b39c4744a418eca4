import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { ApiDependencies, AttemptEvent } from '../dependencies.ts';

/** Attempts kept for a client that reads slower than attempts are logged; older ones are dropped first. */
export const LIVE_FEED_BUFFER = 256;

export interface LiveFeeds {
  /**
   * One client's feed of delivery attempts. It listens only while the client is subscribed: the listener is added
   * on the first read and removed when the client goes away (yoga returns the iterator on disconnect). The sliding
   * buffer bounds the memory a slow client can hold: it sees the newest attempts, never an ever-growing backlog.
   */
  open(eventName: string | null | undefined): AsyncIterableIterator<AttemptEvent>;
  /** Ends every open feed (their SSE responses complete), so a shutting-down server is not held open by them. */
  closeAll(): void;
}

export function createLiveFeeds(onAttempt: ApiDependencies['onAttempt'], bufferSize = LIVE_FEED_BUFFER): LiveFeeds {
  const open = new Set<() => void>();
  return {
    open(eventName) {
      return new Repeater<AttemptEvent>(async (push, stop) => {
        const unsubscribe = onAttempt((attempt) => {
          if (eventName == null || attempt.eventName === eventName) void push(attempt);
        });
        const end = (): void => {
          stop();
        };
        open.add(end);
        try {
          await stop;
        } finally {
          open.delete(end);
          unsubscribe();
        }
      }, new SlidingBuffer(bufferSize));
    },
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}
