import { promises as dns, type LookupAddress } from 'node:dns';
import net, { BlockList } from 'node:net';
import ipaddr from 'ipaddr.js';
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
 * the dotted address. Only public unicast addresses pass: ipaddr.js classifies the special-purpose ranges
 * (loopback, RFC 1918, link-local, 100.64.0.0/10, 198.18.0.0/15, documentation, multicast, unique local…) and
 * EXTRA_FORBIDDEN adds what it calls unicast but a cloud serves internally. IPv4 embedded in IPv6 (mapped,
 * compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo) is judged by the IPv4 address.
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
  /**
   * Why a recipient URL whose host is an IP literal would be refused, or undefined (host names are judged at
   * connect time, on what they resolve to then). Lets a subscription be refused when it is saved.
   */
  recipientRefusal(url: URL): string | undefined;
  /** dns.lookup-compatible function that only yields allowed addresses. */
  readonly lookup: (hostname: string, options: unknown, callback: LookupCallback) => void;
  /** undici connector enforcing the guard; pass as `connect` to an Agent or Pool. */
  connector(options?: { timeoutMs?: number }): buildConnector.connector;
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** Ranges ipaddr.js calls unicast but that reach a cloud's own services from inside the cloud. */
const EXTRA_FORBIDDEN: readonly (readonly [string, string])[] = [
  ['169.254.169.254/32', 'cloud metadata endpoint'],
  ['168.63.129.16/32', 'Azure platform (wireserver) endpoint'],
  ['fd00:ec2::254/128', 'cloud metadata endpoint'],
  // RFC 8215 local-use NAT64: translated by the site's own gateway, into whatever IPv4 network it serves.
  ['64:ff9b:1::/48', 'local-use NAT64'],
];

/** ipaddr.js range names in words; every range but `unicast` is refused. */
const RANGE_WORDS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified ("this network")',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (shared)',
  private: 'private network',
  reserved: 'reserved or benchmarking/documentation',
  uniqueLocal: 'unique local (private) network',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
};

/** IPv6 ranges that carry an IPv4 address, in words. */
const EMBEDDING_RANGES: ReadonlyMap<string, string> = new Map([
  ['ipv4Mapped', 'IPv4-mapped'],
  ['rfc6145', 'SIIT-translated'],
  ['rfc6052', 'NAT64'],
  ['6to4', '6to4'],
  ['teredo', 'Teredo'],
]);

export function createAddressGuard(options: { allowedTargets: readonly string[]; resolve?: Resolver }): AddressGuard {
  const resolve: Resolver = options.resolve ?? ((hostname) => dns.lookup(hostname, { all: true, verbatim: true }));
  const allowedHosts = new Set<string>();
  const allowedRanges = new BlockList();
  for (const entry of options.allowedTargets) addAllowed(entry.trim(), allowedHosts, allowedRanges);

  const extraForbidden = EXTRA_FORBIDDEN.map(([cidr, reason]) => ({ range: ipaddr.parseCIDR(cidr), reason }));

  const isAllowListed = (address: string): boolean => {
    const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
    if (allowedRanges.check(address, family)) return true;
    return embeddedIpv4(address).some((embedded) => allowedRanges.check(embedded, 'ipv4'));
  };

  /** Why this parsed address is not a public unicast address; embedded IPv4 addresses are judged on their own. */
  const classify = (ip: ipaddr.IPv4 | ipaddr.IPv6): string | undefined => {
    for (const extra of extraForbidden) {
      if (ip.kind() === extra.range[0].kind() && ip.match(extra.range)) return extra.reason;
    }
    const range = ip.range();
    const embedding = ip.kind() === 'ipv6' ? EMBEDDING_RANGES.get(range) : undefined;
    if (embedding !== undefined) {
      for (const embedded of embeddedIpv4(ip.toString())) {
        const reason = classify(ipaddr.IPv4.parse(embedded));
        if (reason !== undefined) return `${reason} (${embedded} embedded in a ${embedding} address)`;
      }
      return undefined;
    }
    if (range === 'unicast') {
      // IPv4-compatible ::a.b.c.d (deprecated) is "unicast" to ipaddr.js but still carries an IPv4 address.
      const compatible = ip.kind() === 'ipv6' ? ipv4Compatible(ip as ipaddr.IPv6) : undefined;
      const reason = compatible === undefined ? undefined : classify(compatible);
      return reason === undefined ? undefined : `${reason} (${compatible?.toString() ?? ''} embedded in an IPv4-compatible address)`;
    }
    return RANGE_WORDS[range] ?? `special-purpose (${range})`;
  };

  const refusal = (address: string): string | undefined => {
    if (net.isIP(address) === 0) return `"${address}" is not an IP address`;
    if (isAllowListed(address)) return undefined;
    return classify(ipaddr.parse(address));
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

  const recipientRefusal = (url: URL): string | undefined => {
    const host = normaliseHost(url.hostname);
    if (net.isIP(host) === 0 || hostAllowed(host)) return undefined;
    const reason = refusal(host);
    return reason === undefined ? undefined : forbiddenError(host, host, reason).message;
  };

  return { refusal, hostAllowed, recipientRefusal, lookup, connector };
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

/** `::a.b.c.d` with a non-zero IPv4 part (`::` and `::1` are IPv6's own unspecified and loopback). */
function ipv4Compatible(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  if (p.slice(0, 6).some((g) => g !== 0) || (p[6] === 0 && (p[7] ?? 0) <= 1)) return undefined;
  return ipv4From(p[6] ?? 0, p[7] ?? 0);
}

function ipv4From(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 addresses an IPv6 address carries: mapped and SIIT (`::ffff:a.b.c.d`, `::ffff:0:a.b.c.d`), NAT64
 * (`64:ff9b::a.b.c.d`), 6to4 (`2002:AABB:CCDD::`), Teredo (server in bits 32-63, client inverted in the last 32)
 * and IPv4-compatible (`::a.b.c.d`). Empty for anything else.
 */
export function embeddedIpv4(address: string): string[] {
  if (!net.isIPv6(address)) return [];
  const ip = ipaddr.IPv6.parse(address);
  const p = ip.parts.map((g) => g ?? 0);
  const at = (i: number): number => p[i] ?? 0;
  switch (ip.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return [ipv4From(at(6), at(7)).toString()];
    case '6to4':
      return [ipv4From(at(1), at(2)).toString()];
    case 'teredo':
      return [ipv4From(at(2), at(3)).toString(), ipv4From(at(6) ^ 0xffff, at(7) ^ 0xffff).toString()];
    default: {
      const compatible = ipv4Compatible(ip);
      return compatible ? [compatible.toString()] : [];
    }
  }
}
