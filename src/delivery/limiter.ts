import { AsyncEventsError } from '../errors.ts';

/**
 * Bounds concurrent deliveries: a global ceiling, and one per subscription so a slow recipient can hold at most
 * its own share of the delivery slots.
 */
export interface DeliveryLimiter {
  /** Runs the task in the subscription's lane, waiting for a slot; rejects SHUTTING_DOWN if `signal` aborts first. */
  run<T>(subscriptionId: number, task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Whether the subscription's lane has no slot left (running or waiting tasks fill it). */
  full(subscriptionId: number): boolean;
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

  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw shuttingDown();
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const granted = (): void => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(shuttingDown());
      };
      this.waiting.push(granted);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
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
    full(subscriptionId) {
      return (perSubscription.get(subscriptionId)?.users ?? 0) >= options.perSubscription;
    },
    inFlight(subscriptionId) {
      return perSubscription.get(subscriptionId)?.users ?? 0;
    },
    async run<T>(subscriptionId: number, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
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
      try {
        await lane.semaphore.acquire(signal);
      } catch (error) {
        leave();
        throw error;
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
        return await task();
      } finally {
        active--;
        global.release();
        lane.semaphore.release();
        leave();
      }
    },
  };
}
