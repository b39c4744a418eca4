/**
 * A sink's deliveries still running, so `close()` can wait for them before it closes the clients they use.
 */
export interface InFlight {
  /** Tracks `work` until it settles and answers it unchanged. */
  run<T>(work: Promise<T>): Promise<T>;
  /** Resolves once every tracked delivery has settled, whatever its result. */
  settled(): Promise<void>;
}

export function createInFlight(): InFlight {
  const running = new Set<Promise<unknown>>();
  return {
    async run(work) {
      running.add(work);
      try {
        return await work;
      } finally {
        running.delete(work);
      }
    },
    async settled() {
      await Promise.allSettled([...running]);
    },
  };
}
