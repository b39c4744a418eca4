import type { ChildProcess } from 'node:child_process';

/*
 * Whatever the bench leaves running or standing (receivers, the Magento stand-in, sidecars, its vhost and
 * database) is torn down on every way out: a normal end, a thrown error, an unhandled rejection, Ctrl-C or SIGTERM.
 * Child processes are killed synchronously even on a bare `exit`, where nothing asynchronous can run.
 */

const children = new Set<ChildProcess>();
const teardowns: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | undefined;

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function onCleanup(teardown: () => Promise<void> | void): void {
  teardowns.push(teardown);
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    killChildren();
    for (const teardown of teardowns.reverse()) {
      try {
        await teardown();
      } catch (error) {
        console.error('bench cleanup:', error);
      }
    }
  })();
  return cleaning;
}

function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
const crash = (error: unknown): void => {
  console.error('bench crashed:', error);
  void cleanup().finally(() => process.exit(1));
};
process.once('uncaughtException', crash);
process.once('unhandledRejection', crash);
