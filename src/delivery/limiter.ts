import { AsyncEventsError } from '../errors.ts';

/**
 * Bounds concurrent deliveries: a global ceiling, and one per subscription so a slow recipient can hold at most
 * its own share of the delivery slots.
 */
export interface DeliveryLimiter {
  /** Runs the task in the subscription's lane, waiting for a slot; rejects SHUTTING_DOWN if `signal` aborts first. */
  run<T>(subscriptionId: number, task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Like `run`, but gives up waiting for the subscription's slot after `laneWaitMs`: `{ ran: false }`, the task not
   * started. A busy lane turns over within that time; a lane held by slow deliveries does not.
   */
  runWithin<T>(subscriptionId: number, laneWaitMs: number, task: () => Promise<T>, signal?: AbortSignal): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Tasks of the subscription running or waiting for a slot (its health's "attempts in flight"). */
  inFlight(subscriptionId: number): number;
  readonly active: number;
}

function shuttingDown(): AsyncEventsError {
  return new AsyncEventsError('SHUTTING_DOWN', 'delivery not started: shutting down');
}

class Semaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.available = size;
  }

  /** Resolves true once a slot is taken, false when `timeoutMs` ran out first; rejects when `signal` aborts. */
  async acquire(signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
    if (signal?.aborted) throw shuttingDown();
    if (this.available > 0) {
      this.available--;
      return true;
    }
    if (timeoutMs !== undefined && timeoutMs <= 0) return false;
    return new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leaveQueue = (): void => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        signal?.removeEventListener('abort', aborted);
        if (timer) clearTimeout(timer);
      };
      const granted = (): void => {
        leaveQueue();
        resolve(true);
      };
      const aborted = (): void => {
        leaveQueue();
        reject(shuttingDown());
      };
      this.waiting.push(granted);
      signal?.addEventListener('abort', aborted, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          leaveQueue();
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  release(): void {
    // The waiter removes itself from the queue when granted.
    const next = this.waiting[0];
    if (next) next();
    else this.available++;
  }

  get idle(): boolean {
    return this.waiting.length === 0;
  }
}

export function createDeliveryLimiter(options: { global: number; perSubscription: number }): DeliveryLimiter {
  const global = new Semaphore(options.global);
  const perSubscription = new Map<number, { semaphore: Semaphore; users: number }>();
  let active = 0;

  return {
    get active() {
      return active;
    },
    inFlight(subscriptionId) {
      return perSubscription.get(subscriptionId)?.users ?? 0;
    },
    async run<T>(subscriptionId: number, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const result = await runInLane(subscriptionId, undefined, task, signal);
      if (!result.ran) throw new Error('unreachable: a lane wait without a limit gave up');
      return result.value;
    },
    runWithin(subscriptionId, laneWaitMs, task, signal) {
      return runInLane(subscriptionId, laneWaitMs, task, signal);
    },
  };

  async function runInLane<T>(subscriptionId: number, laneWaitMs: number | undefined, task: () => Promise<T>, signal?: AbortSignal): Promise<{ ran: true; value: T } | { ran: false }> {
    let entry = perSubscription.get(subscriptionId);
    if (!entry) {
      entry = { semaphore: new Semaphore(options.perSubscription), users: 0 };
      perSubscription.set(subscriptionId, entry);
    }
    const lane = entry;
    lane.users++;
    const leave = (): void => {
      lane.users--;
      if (lane.users === 0) perSubscription.delete(subscriptionId);
    };
    // Take the subscription's slot first: waiting for a slow recipient must not hold a global slot.
    let acquired: boolean;
    try {
      acquired = await lane.semaphore.acquire(signal, laneWaitMs);
    } catch (error) {
      leave();
      throw error;
    }
    if (!acquired) {
      leave();
      return { ran: false };
    }
    try {
      await global.acquire(signal);
    } catch (error) {
      lane.semaphore.release();
      leave();
      throw error;
    }
    active++;
    try {
      return { ran: true, value: await task() };
    } finally {
      active--;
      global.release();
      lane.semaphore.release();
      leave();
    }
  }
}
