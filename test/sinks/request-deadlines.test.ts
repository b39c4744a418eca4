import { describe, expect, it } from 'vitest';
import { createRequestDeadlines, readBodyText } from '../../src/sinks/request-deadlines.ts';
import { PassThrough } from 'node:stream';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('request deadlines (one timer for every request of a tracker)', () => {
  it('aborts each unfinished request once its own deadline passes, with a TimeoutError, and leaves finished ones alone', async () => {
    const deadlines = createRequestDeadlines(150);
    const first = deadlines.start();
    await wait(60);
    const second = deadlines.start();
    const finished = deadlines.start();
    finished.done();
    await wait(120);
    expect(first.signal.aborted).toBe(true);
    expect(first.timedOut).toBe(true);
    expect((first.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(second.signal.aborted).toBe(false);
    await wait(80);
    expect(second.signal.aborted).toBe(true);
    expect(finished.signal.aborted).toBe(false);
    expect(finished.timedOut).toBe(false);
  });

  it('aborts with the external signal, already aborted or later, without calling it a timeout', async () => {
    const deadlines = createRequestDeadlines(10_000);
    const shutdown = new AbortController();
    const a = deadlines.start(shutdown.signal);
    const b = deadlines.start(shutdown.signal);
    b.done();
    shutdown.abort(new Error('stop'));
    expect(a.signal.aborted).toBe(true);
    expect(a.timedOut).toBe(false);
    expect((a.signal.reason as Error).message).toBe('stop');
    expect(b.signal.aborted).toBe(false);
    expect(deadlines.start(shutdown.signal).signal.aborted).toBe(true);
  });
});

describe('readBodyText', () => {
  it('joins the chunks as they came (a BOM kept) and stops at the cap', async () => {
    const body = new PassThrough();
    const text = readBodyText(body);
    body.write(Buffer.from([0xef, 0xbb, 0xbf]));
    body.write('{"a":');
    body.end('"é"}');
    expect(await text).toBe('\ufeff{"a":"é"}');

    const long = new PassThrough();
    const capped = readBodyText(long, 4);
    long.write('abc');
    long.write('def');
    expect(await capped).toBe('abcdef');
    expect(long.destroyed).toBe(true);
  });

  it('rejects when the body fails', async () => {
    const body = new PassThrough();
    const text = readBodyText(body);
    body.destroy(new Error('reset'));
    await expect(text).rejects.toThrow('reset');
  });
});
