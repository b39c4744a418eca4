import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createHttpSink } from '../../src/sinks/http.ts';
import { createSinkRegistry } from '../../src/sinks/registry.ts';
import type { Sink } from '../../src/sinks/sink.ts';

function fakeSink(key: string, reason?: string): Sink & { closed: number } {
  const sink = {
    key,
    closed: 0,
    unusableReason: async () => reason,
    deliver: async () => ({ success: true, retryable: false, responseData: key }),
    close: async () => {
      sink.closed++;
    },
  };
  return sink;
}

describe('sink registry', () => {
  it('finds sinks by metadata key and lists the known keys for an unknown one', () => {
    const http = createHttpSink({ logger: silentLogger(), allowedTargets: [] });
    const registry = createSinkRegistry([http, fakeSink('eventbridge')]);
    expect(registry.get('http')).toBe(http);
    expect(registry.keys()).toEqual(['http', 'eventbridge']);
    try {
      registry.get('event_bridge');
      expect.unreachable();
    } catch (error) {
      expect(isAsyncEventsError(error, 'SINK_UNKNOWN')).toBe(true);
      expect((error as Error).message).toBe('no sink is registered for metadata "event_bridge"; known sinks: "http", "eventbridge"');
    }
    return registry.close();
  });

  it('reports which sinks are usable and closes them all', async () => {
    const a = fakeSink('http');
    const b = fakeSink('eventbridge', 'EventBridge region is not configured (async_events_aws/eventbridge/region)');
    const registry = createSinkRegistry([a, b]);
    expect(await registry.usable()).toEqual([{ key: 'http' }, { key: 'eventbridge', reason: 'EventBridge region is not configured (async_events_aws/eventbridge/region)' }]);
    await registry.close();
    expect([a.closed, b.closed]).toEqual([1, 1]);
  });

  it('refuses two sinks with one key', () => {
    expect(() => createSinkRegistry([fakeSink('http'), fakeSink('http')])).toThrow(/two sinks are registered under the key "http"/);
  });
});
