/**
 * Bounds concurrent deliveries: a global ceiling, and one per subscription so a slow recipient can hold at most
 * its own share of the delivery slots.
 */
export interface DeliveryLimiter {
  run<T>(subscriptionId: number, task: () => Promise<T>): Promise<T>;
  readonly active: number;
}

class Semaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.available = size;
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
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
    async run<T>(subscriptionId: number, task: () => Promise<T>): Promise<T> {
      let entry = perSubscription.get(subscriptionId);
      if (!entry) {
        entry = { semaphore: new Semaphore(options.perSubscription), users: 0 };
        perSubscription.set(subscriptionId, entry);
      }
      entry.users++;
      // Take the subscription's slot first: waiting for a slow recipient must not hold a global slot.
      await entry.semaphore.acquire();
      await global.acquire();
      active++;
      try {
        return await task();
      } finally {
        active--;
        global.release();
        entry.semaphore.release();
        entry.users--;
        if (entry.users === 0) perSubscription.delete(subscriptionId);
      }
    },
  };
}
