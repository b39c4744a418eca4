import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { createAddressGuard, embeddedIpv4 } from '../../src/sinks/address-guard.ts';

/** What undici raises for a refused connection: the guard's error, possibly wrapped. */
async function refusalOf(guard: ReturnType<typeof createAddressGuard>, url: string): Promise<unknown> {
  const agent = new Agent({ connect: guard.connector({ timeoutMs: 2000 }) });
  try {
    const response = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(5000) });
    await response.body.text();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await agent.close();
  }
}

function forbiddenCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (isAsyncEventsError(e)) return e.code;
  return undefined;
}

describe('refusal() on addresses', () => {
  const guard = createAddressGuard({ allowedTargets: [] });
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/], ['127.255.255.254', /loopback/], ['::1', /loopback/], ['10.0.0.1', /private/],
    ['172.16.0.1', /private/], ['172.31.255.255', /private/], ['192.168.1.20', /private/], ['169.254.169.254', /metadata/],
    ['169.254.10.10', /link-local/], ['100.64.0.1', /carrier-grade/], ['100.127.255.255', /carrier-grade/], ['0.0.0.0', /this network/],
    ['0.1.2.3', /this network/], ['224.0.0.251', /multicast/], ['239.255.255.250', /multicast/], ['255.255.255.255', /broadcast/],
    ['fc00::1', /unique local/], ['fd12:3456::1', /unique local/], ['fd00:ec2::254', /metadata/], ['fe80::1', /link-local/],
    ['febf:ffff::1', /link-local/], ['ff02::1', /multicast/], ['::', /unspecified/], ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/], ['0:0:0:0:0:ffff:a9fe:a9fe', /metadata/], ['::ffff:10.0.0.1', /private/], ['::127.0.0.1', /loopback/],
    ['64:ff9b::10.0.0.1', /private/], ['2002:c0a8:0101::1', /private/],
    // Ranges the hand-written list missed, from ipaddr.js's classification and the extra list.
    ['198.18.0.1', /reserved|benchmarking/], ['198.19.255.254', /reserved|benchmarking/], ['168.63.129.16', /Azure/],
    ['192.0.2.10', /documentation/], ['203.0.113.5', /documentation/], ['100.100.100.200', /carrier-grade/],
    // IPv4 embedded in IPv6, in every notation.
    ['::ffff:100.64.0.1', /carrier-grade.*embedded/], ['::ffff:168.63.129.16', /Azure/], ['::ffff:198.18.0.1', /reserved/],
    ['::ffff:0:10.0.0.1', /private.*embedded/], ['::10.0.0.1', /private.*embedded/], ['::a00:1', /private.*IPv4-compatible/], ['::a9fe:a9fe', /metadata/],
    ['64:ff9b::7f00:1', /loopback.*embedded/], ['64:ff9b::169.254.169.254', /metadata/], ['64:ff9b::100.64.0.1', /carrier-grade/],
    ['64:ff9b:1::8.8.8.8', /local-use NAT64/], ['64:ff9b:1:ffff::1', /local-use NAT64/],
    ['2002:7f00:0001::1', /loopback.*6to4/], ['2002:a9fe:a9fe::', /metadata/], ['2002:6440:0001::1', /carrier-grade/],
    // Teredo: server 65.54.227.120, client 10.0.0.1 (stored inverted: f5ff:fffe).
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', /private.*Teredo/], ['2001:0:0a00:0001:8000:63bf:f7f7:f7f7', /private.*Teredo/],
    ['2001:db8::1', /reserved|documentation/], ['100::1', /discard/],
  ];
  it.each(refused)('refuses %s', (address, reason) => {
    expect(guard.refusal(address)).toMatch(reason);
  });
  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '172.15.255.255', '100.128.0.1', '100.63.255.255', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '2002:0808:0808::1', '64:ff9b::8.8.8.8', '::8.8.8.8', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '168.63.129.17'])(
    'allows public %s',
    (address) => {
      expect(guard.refusal(address)).toBeUndefined();
    },
  );
  it('reads embedded IPv4', () => {
    expect(embeddedIpv4('::ffff:7f00:1')).toEqual(['127.0.0.1']);
    expect(embeddedIpv4('::ffff:0:a00:1')).toEqual(['10.0.0.1']);
    expect(embeddedIpv4('::a00:1')).toEqual(['10.0.0.1']);
    expect(embeddedIpv4('64:ff9b::c0a8:101')).toEqual(['192.168.1.1']);
    expect(embeddedIpv4('2002:c0a8:0101::1')).toEqual(['192.168.1.1']);
    expect(embeddedIpv4('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toEqual(['65.54.227.120', '192.0.2.45']);
    expect(embeddedIpv4('::1')).toEqual([]);
    expect(embeddedIpv4('2606:4700::1111')).toEqual([]);
    expect(embeddedIpv4('10.0.0.1')).toEqual([]);
  });
  it('honours allow-listed CIDRs, addresses and the IPv4 inside mapped IPv6', () => {
    const allowing = createAddressGuard({ allowedTargets: ['127.0.0.1/32', ' 10.1.0.0/16', 'fd00::5', 'internal.example.'] });
    expect(allowing.refusal('127.0.0.1')).toBeUndefined();
    expect(allowing.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(allowing.refusal('127.0.0.2')).toMatch(/loopback/);
    expect(allowing.refusal('10.1.200.3')).toBeUndefined();
    expect(allowing.refusal('10.2.0.1')).toMatch(/private/);
    expect(allowing.refusal('fd00::5')).toBeUndefined();
    expect(allowing.hostAllowed('INTERNAL.example')).toBe(true);
  });
  it('rejects malformed allow-list entries naming the setting', () => {
    expect(() => createAddressGuard({ allowedTargets: ['10.0.0.0/33'] })).toThrow(/ASYNC_EVENTS_ALLOWED_TARGETS entry "10.0.0.0\/33"/);
    expect(() => createAddressGuard({ allowedTargets: ['exa mple'] })).toThrow(/ASYNC_EVENTS_ALLOWED_TARGETS/);
    expect(() => createAddressGuard({ allowedTargets: ['host/8'] })).toThrow(/must be an IP address/);
  });
});

describe('guarded connector at connect time', () => {
  let server: http.Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits++;
      res.end('reached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const forms = ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '0x7f.0.0.1', '127.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:127.0.0.1]', 'localhost', 'LocalHost', '0', '0.0.0.0', '[::1]', '[::]'];
  it.each(forms)('refuses http://%s (never reaching the server)', async (host) => {
    const before = hits;
    const error = await refusalOf(createAddressGuard({ allowedTargets: [] }), `http://${host}:${port}/`);
    expect(forbiddenCode(error)).toBe('TARGET_FORBIDDEN');
    expect(hits).toBe(before);
  });

  it('refuses a name whose resolver answers a private address (DNS rebinding)', async () => {
    let calls = 0;
    const guard = createAddressGuard({
      allowedTargets: [],
      resolve: async (hostname) => {
        calls++;
        expect(hostname).toBe('rebind.example');
        return [{ address: '10.0.0.7', family: 4 }];
      },
    });
    const error = await refusalOf(guard, `http://rebind.example:${port}/`);
    expect(forbiddenCode(error)).toBe('TARGET_FORBIDDEN');
    expect(String((error as Error).message)).toMatch(/rebind\.example.*10\.0\.0\.7.*ASYNC_EVENTS_ALLOWED_TARGETS/s);
    expect(calls).toBeGreaterThan(0);
  });

  it('connects only to the allowed addresses a name resolves to', async () => {
    const guard = createAddressGuard({
      allowedTargets: ['127.0.0.1/32'],
      resolve: async () => [{ address: '10.9.9.9', family: 4 }, { address: '127.0.0.1', family: 4 }],
    });
    expect(await refusalOf(guard, `http://mixed.example:${port}/`)).toBeUndefined();
  });

  it('lets allow-listed CIDRs and host names through', async () => {
    const before = hits;
    expect(await refusalOf(createAddressGuard({ allowedTargets: ['127.0.0.1/32'] }), `http://127.1:${port}/`)).toBeUndefined();
    expect(await refusalOf(createAddressGuard({ allowedTargets: ['localhost'] }), `http://localhost:${port}/`)).toBeUndefined();
    expect(hits).toBe(before + 2);
  });
});
