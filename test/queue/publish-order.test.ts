import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { nextId } from '../../src/queue/database/publish-order.ts';
import { batchBackoffMs, checkPublishOrderOptions } from '../../src/queue/publish-order.ts';

describe('publish-order reader helpers', () => {
  it('expects the next queue_message id by auto_increment_increment and _offset', () => {
    expect([0, 1, 2, 41].map((p) => nextId(p, { step: 1, offset: 1 }))).toEqual([1, 2, 3, 42]);
    // Two-server setups: increment 2, this server's offset 2 gives 2, 4, 6…; from a position off the sequence
    // (a gap passed to "next row - 1") the next id is the following one on it.
    expect([0, 2, 3, 4].map((p) => nextId(p, { step: 2, offset: 2 }))).toEqual([2, 4, 4, 6]);
    expect([0, 1, 6].map((p) => nextId(p, { step: 3, offset: 1 }))).toEqual([1, 4, 7]);
  });

  it('backs off 100 ms doubling to 5 s after rejected batches', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(batchBackoffMs)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('refuses a maxBatch that is not a whole number ≥ 1, and a negative settleMs', () => {
    for (const options of [{ maxBatch: 0 }, { maxBatch: 1.5 }, { maxBatch: 10, settleMs: -1 }]) {
      let error: unknown;
      try {
        checkPublishOrderOptions(options);
      } catch (e) {
        error = e;
      }
      expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
    }
    expect(() => checkPublishOrderOptions({ maxBatch: 1, settleMs: 0 })).not.toThrow();
  });
});
