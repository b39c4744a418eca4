import v8 from 'node:v8';

/*
 * Memory bounds of the long-running commands (`start`, `consumer:start`), applied from inside the process so that
 * no flag and no NODE_OPTIONS is needed. V8 sizes its heap from the machine, not from the work: on a host with
 * memory to spare it lets the old generation grow up to several times what is live between major collections, and
 * a sidecar draining a backlog (much short-lived garbage per event) then holds hundreds of MB it does not need.
 * `--heap-growing-percent` caps that growth factor; V8 reads it at every major collection, so setting it at start-up
 * works (the heap's size limits themselves, like `--max-old-space-size`, are fixed when the process starts and
 * cannot be changed from inside).
 *
 * An operator who sizes the heap themselves (any of the flags below on the command line or in NODE_OPTIONS) keeps
 * their setting; `ASYNC_EVENTS_MEMORY=unbounded` leaves V8's defaults (and lifts the prefetch byte budget).
 */

export const HEAP_FLAGS = ['--heap-growing-percent=20'] as const;

const OPERATOR_HEAP_FLAGS = /^--(max-old-space-size|max-semi-space-size|max-heap-size|heap-growing-percent|semi-space-growth-factor|optimize-for-size)(=|$)/;

/** Applies HEAP_FLAGS unless told otherwise; returns the flags it set (for the start-up log line). */
export function boundHeapGrowth(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): readonly string[] {
  if (env.ASYNC_EVENTS_MEMORY === 'unbounded') return [];
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map((flag) => flag.replaceAll('_', '-'));
  if (given.some((flag) => OPERATOR_HEAP_FLAGS.test(flag))) return [];
  for (const flag of HEAP_FLAGS) v8.setFlagsFromString(flag);
  return HEAP_FLAGS;
}
