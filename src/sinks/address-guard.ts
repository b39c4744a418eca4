import { promises as dns, type LookupAddress } from 'node:dns';
import net, { BlockList } from 'node:net';
import { buildConnector } from 'undici';
import { AsyncEventsError } from '../errors.ts';

/*
 * Private-address guard for recipient URLs (SSRF). The check runs at connect time for every connection, on the
 * address the socket is about to reach, so a name that resolves to a public address when a subscription is saved
 * and to 127.0.0.1 later (DNS rebinding) is still refused:
 * - host names go through a guarded DNS lookup that drops forbidden addresses (and fails when none is left);
 * - IP literals (Node skips the lookup for them) are checked before connecting;
 * - after connecting, the socket's remote address is checked once more.
 * The WHATWG URL parser turns `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` into `127.0.0.1` before undici
 * sees them; forms that reach a resolver unnormalised are caught by the lookup filter since getaddrinfo returns
 * the dotted address. IPv4 embedded in IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) is judged by the IPv4 address.
 *
 * `ASYNC_EVENTS_ALLOWED_TARGETS` entries are host names (matched exactly, case-insensitively, before any lookup),
 * IP addresses or CIDRs (matched against the resolved address).
 */

export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface AddressGuard {
  /** Why connecting to this IP address is refused, or undefined when it is allowed. */
  refusal(address: string): string | undefined;
  /** Whether the host name itself is allow-listed (then every address it resolves to is allowed). */
  hostAllowed(hostname: string): boolean;
  /** dns.lookup-compatible function that only yields allowed addresses. */
  readonly lookup: (hostname: string, options: unknown, callback: LookupCallback) => void;
  /** undici connector enforcing the guard; pass as `connect` to an Agent or Pool. */
  connector(options?: { timeoutMs?: number }): buildConnector.connector;
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

const FORBIDDEN_V4: readonly (readonly [string, number, string])[] = [
  ['169.254.169.254', 32, 'cloud metadata endpoint'],
  ['0.0.0.0', 8, '"this network" address'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private network'],
  ['172.16.0.0', 12, 'private network'],
  ['192.168.0.0', 16, 'private network'],
  ['169.254.0.0', 16, 'link-local'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved/broadcast'],
];

const FORBIDDEN_V6: readonly (readonly [string, number, string])[] = [
  ['fd00:ec2::254', 128, 'cloud metadata endpoint'],
  ['::', 128, 'unspecified address'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique local (private) network'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

export function createAddressGuard(options: { allowedTargets: readonly string[]; resolve?: Resolver }): AddressGuard {
  const resolve: Resolver = options.resolve ?? ((hostname) => dns.lookup(hostname, { all: true, verbatim: true }));
  const allowedHosts = new Set<string>();
  const allowedRanges = new BlockList();
  for (const entry of options.allowedTargets) addAllowed(entry.trim(), allowedHosts, allowedRanges);

  const forbidden = FORBIDDEN_V4.map(([base, prefix, reason]) => ({ list: subnet(base, prefix, 'ipv4'), reason }))
    .concat(FORBIDDEN_V6.map(([base, prefix, reason]) => ({ list: subnet(base, prefix, 'ipv6'), reason })));

  const isAllowListed = (address: string): boolean => {
    const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
    if (allowedRanges.check(address, family)) return true;
    const embedded = family === 'ipv6' ? embeddedIpv4(address) : undefined;
    return embedded !== undefined && allowedRanges.check(embedded, 'ipv4');
  };

  const refusal = (address: string): string | undefined => {
    const version = net.isIP(address);
    if (version === 0) return `"${address}" is not an IP address`;
    if (isAllowListed(address)) return undefined;
    const embedded = version === 6 ? embeddedIpv4(address) : undefined;
    const candidates: [string, 'ipv4' | 'ipv6'][] = embedded !== undefined ? [[embedded, 'ipv4'], [address, 'ipv6']] : [[address, version === 4 ? 'ipv4' : 'ipv6']];
    for (const [candidate, family] of candidates) {
      for (const range of forbidden) {
        if (range.list.check(candidate, family)) return range.reason + (candidate !== address ? ` (${candidate} embedded in ${address})` : '');
      }
    }
    return undefined;
  };

  const hostAllowed = (hostname: string): boolean => allowedHosts.has(normaliseHost(hostname));

  const forbiddenError = (host: string, address: string, reason: string): AsyncEventsError =>
    new AsyncEventsError(
      'TARGET_FORBIDDEN',
      `recipient host "${host}" ${host === address ? 'is' : `resolves to ${address}, which is`} a ${reason} address; refused by the private-address guard. ` +
        `If this target is intended, add it to ASYNC_EVENTS_ALLOWED_TARGETS (e.g. ${net.isIPv6(address) ? `${address}/128` : `${address}/32`} or the host name).`,
      { host, address, reason },
    );

  const lookup = (hostname: string, lookupOptions: unknown, callback: LookupCallback): void => {
    const opts = typeof lookupOptions === 'object' && lookupOptions !== null ? (lookupOptions as { family?: number | string; all?: boolean }) : { family: lookupOptions as number };
    const wantFamily = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : typeof opts.family === 'number' ? opts.family : 0;
    resolve(hostname).then(
      (addresses) => {
        const usable = addresses.filter((a) => wantFamily === 0 || a.family === wantFamily);
        const allowed = hostAllowed(hostname) ? usable : usable.filter((a) => refusal(a.address) === undefined);
        const first = allowed[0];
        if (first === undefined) {
          const refused = usable[0];
          const error = refused
            ? forbiddenError(hostname, refused.address, refusal(refused.address) ?? 'forbidden')
            : Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          callback(error, opts.all ? [] : '', undefined);
          return;
        }
        if (opts.all) callback(null, allowed.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), opts.all ? [] : '', undefined),
    );
  };

  const connector = (connectorOptions: { timeoutMs?: number } = {}): buildConnector.connector => {
    const connect = buildConnector({ timeout: connectorOptions.timeoutMs ?? 5000, lookup } as buildConnector.BuildOptions);
    return (connectOptions, callback) => {
      const host = connectOptions.hostname;
      const allowedByName = hostAllowed(host);
      if (!allowedByName && net.isIP(host) !== 0) {
        const reason = refusal(host);
        if (reason !== undefined) {
          callback(forbiddenError(host, host, reason), null);
          return;
        }
      }
      connect(connectOptions, (error, socket) => {
        if (error !== null || socket === null) {
          callback(error ?? new Error(`connection to ${host} failed`), null);
          return;
        }
        // Belt and braces: the address actually connected to.
        const remote = socket.remoteAddress;
        const reason = allowedByName || remote === undefined ? undefined : refusal(remote);
        if (reason !== undefined && remote !== undefined) {
          socket.destroy();
          callback(forbiddenError(host, remote, reason), null);
          return;
        }
        callback(null, socket);
      });
    };
  };

  return { refusal, hostAllowed, lookup, connector };
}

function subnet(base: string, prefix: number, family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  list.addSubnet(base, prefix, family);
  return list;
}

function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function addAllowed(entry: string, hosts: Set<string>, ranges: BlockList): void {
  if (entry === '') return;
  const invalid = (why: string): AsyncEventsError =>
    new AsyncEventsError('SETTING_INVALID', `ASYNC_EVENTS_ALLOWED_TARGETS entry "${entry}": ${why}`, { setting: 'ASYNC_EVENTS_ALLOWED_TARGETS', entry });
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const base = normaliseHost(entry.slice(0, slash));
    const prefixText = entry.slice(slash + 1);
    const version = net.isIP(base);
    const prefix = Number(prefixText);
    if (version === 0) throw invalid('the part before "/" must be an IP address (CIDR like 10.0.0.0/8 or fd00::/8)');
    if (!/^\d+$/.test(prefixText) || prefix > (version === 4 ? 32 : 128)) throw invalid(`prefix length must be 0-${version === 4 ? 32 : 128}`);
    ranges.addSubnet(base, prefix, version === 4 ? 'ipv4' : 'ipv6');
    return;
  }
  const host = normaliseHost(entry);
  const version = net.isIP(host);
  if (version !== 0) {
    ranges.addAddress(host, version === 4 ? 'ipv4' : 'ipv6');
    return;
  }
  if (!/^[a-z0-9_.-]+$/.test(host)) throw invalid('expected a host name, an IP address or a CIDR');
  hosts.add(host);
}

/** The IPv4 address carried inside an IPv6 address (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (groups === undefined) return undefined;
  const v4 = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0xffff) return v4(g6, g7);
  if (zeroPrefix && g5 === 0 && (g6 !== 0 || g7 > 1)) return v4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4(g6, g7);
  if (g0 === 0x2002) return v4(g1, g2);
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  if (!net.isIPv6(address)) return undefined;
  let text = address.toLowerCase().split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -(dotted[1] as string).length) + `${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...fill, ...tailGroups].map((g) => parseInt(g, 16));
  return groups.length === 8 ? groups : undefined;
}
