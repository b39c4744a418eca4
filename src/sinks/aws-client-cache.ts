import { type AwsConnection, connectionKey } from './aws-config.ts';

/**
 * One AWS SDK client per credential set (key, secret, region), reused across deliveries so its keep-alive sockets
 * and resolved credentials are too. When the admin config changes, the next delivery gets a new client and the old
 * one is destroyed as soon as the requests still using it have finished.
 */
export interface AwsClientCache<C> {
  use<T>(connection: AwsConnection, work: (client: C) => Promise<T>): Promise<T>;
  /** Destroys every client; deliveries still running finish on theirs first. */
  close(): void;
}

interface Entry<C> {
  readonly key: string;
  readonly client: C;
  inFlight: number;
  retired: boolean;
}

export function createAwsClientCache<C extends { destroy(): void }>(create: (connection: AwsConnection) => C): AwsClientCache<C> {
  let current: Entry<C> | undefined;
  const retiring = new Set<Entry<C>>();

  function retire(entry: Entry<C>): void {
    entry.retired = true;
    if (entry.inFlight === 0) entry.client.destroy();
    else retiring.add(entry);
  }

  function release(entry: Entry<C>): void {
    entry.inFlight--;
    if (entry.retired && entry.inFlight === 0) {
      retiring.delete(entry);
      entry.client.destroy();
    }
  }

  return {
    async use(connection, work) {
      const key = connectionKey(connection);
      if (current?.key !== key) {
        if (current) retire(current);
        current = { key, client: create(connection), inFlight: 0, retired: false };
      }
      const entry = current;
      entry.inFlight++;
      try {
        return await work(entry.client);
      } finally {
        release(entry);
      }
    },
    close() {
      if (current) retire(current);
      current = undefined;
    },
  };
}
