
/**
 * Seconds before a chain whose subscription's lane was full is tried again. Long enough that a recipient hanging
 * until the timeout does not turn its queued chains into a busy loop of re-scheduling, short enough that a lane
 * freed by a recovered recipient fills again soon.
 */
export const LANE_FULL_DELAY_SECONDS = 5;

/** How far ahead a put-off chain's due time is moved, so its waiting is not taken for a lost message. */
export const POSTPONE_AHEAD_SECONDS = 60;

/** Seconds before a chain handed off by the trigger consumer (its lane was full) is first tried from the retry queue. */
export const HAND_OFF_DELAY_SECONDS = 1;

/**
 * How long a chain waits for a slot in its subscription's lane before it is handed to the retry queue. A lane of
 * fast deliveries that is merely busy turns over well within it, so a backlog for one healthy recipient drains at
 * that recipient's speed instead of cycling through the retry queue; a lane held by slow or hanging deliveries does
 * not, and then its chains stop holding messages that other subscriptions' chains share.
 */
export const LANE_WAIT_MS = 1000;

/** Runs `task` once per key at a time: the second copy of a retry message waits for the first, then sees its result. */
export function createKeyedMutex(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(task);
    tails.set(key, run);
    try {
      return await run;
    } finally {
      if (tails.get(key) === run) tails.delete(key);
    }
  };
}
