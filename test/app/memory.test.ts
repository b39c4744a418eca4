import { describe, expect, it } from 'vitest';
import { boundHeapGrowth, HEAP_FLAGS } from '../../src/memory.ts';

describe('boundHeapGrowth', () => {
  it('bounds the heap growth of a process started without heap flags', () => {
    expect(boundHeapGrowth({}, [])).toEqual(HEAP_FLAGS);
  });

  it('leaves an operator-sized heap alone, from the command line or NODE_OPTIONS', () => {
    expect(boundHeapGrowth({}, ['--max-old-space-size=256'])).toEqual([]);
    expect(boundHeapGrowth({ NODE_OPTIONS: '--enable-source-maps --max_old_space_size=300' }, [])).toEqual([]);
    expect(boundHeapGrowth({}, ['--heap-growing-percent=50'])).toEqual([]);
  });

  it('does nothing when told the memory is unbounded', () => {
    expect(boundHeapGrowth({ ASYNC_EVENTS_MEMORY: 'unbounded' }, [])).toEqual([]);
  });
});
