/**
 * Edge: name resolution for the push that can be abandoned. Node's default lookup
 * (getaddrinfo on the libuv thread pool) cannot be cancelled, and the process cannot even
 * exit while it waits: a DNS server that never answers held a run for resolv.conf's whole
 * timeout (10-30 s), past the run's bound. So: an IP literal as is; then /etc/hosts; then DNS
 * through c-ares (the servers in resolv.conf) with the run's time bound. Other NSS sources
 * (mDNS, LDAP) are not consulted: point the endpoint at an address, /etc/hosts or DNS name.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

interface Address {
  address: string;
  family: number;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | Address[], family?: number) => void;

/** Pure: the addresses /etc/hosts gives the name, in file order. */
export function hostsAddresses(hostsText: string, name: string): Address[] {
  const wanted = name.toLowerCase();
  const out: Address[] = [];
  for (const line of hostsText.split('\n')) {
    const [address, ...names] = (line.split('#')[0] ?? '').trim().split(/\s+/);
    if (!address || !names.some((n) => n.toLowerCase() === wanted)) continue;
    const family = isIP(address);
    if (family !== 0) out.push({ address, family });
  }
  return out;
}

function readHosts(): string {
  try {
    return readFileSync('/etc/hosts', 'utf8');
  } catch {
    return '';
  }
}

async function resolveDns(name: string, timeoutMs: number): Promise<Address[]> {
  // Loaded here, not at start: c-ares costs every run, and an IP or /etc/hosts name needs none of it.
  const { Resolver } = await import('node:dns');
  const resolver = new Resolver({ timeout: Math.max(1, Math.round(timeoutMs)), tries: 1 });
  const timer = setTimeout(() => resolver.cancel(), timeoutMs);
  const ask = (family: 4 | 6): Promise<Address[]> =>
    new Promise((resolve) => {
      const done = (error: Error | null, addresses: string[]): void =>
        resolve(error ? [] : addresses.map((address) => ({ address, family })));
      if (family === 4) resolver.resolve4(name, done);
      else resolver.resolve6(name, done);
    });
  try {
    const [v4, v6] = await Promise.all([ask(4), ask(6)]);
    return [...v4, ...v6];
  } finally {
    clearTimeout(timer);
  }
}

/** A `lookup` for net.connect / http.Agent options, bounded by `timeoutMs`. */
export function boundedLookup(timeoutMs: number) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const reply = (addresses: Address[]): void => {
      const family = Number(options.family) || 0;
      const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
      const [first] = usable;
      if (!first) {
        const error: NodeJS.ErrnoException = new Error(`DNS: no address for ${hostname} within ${Math.round(timeoutMs)} ms`);
        error.code = 'ENOTFOUND';
        callback(error, options.all ? [] : '', 0);
      } else if (options.all) callback(null, usable);
      else callback(null, first.address, first.family);
    };
    const literal = isIP(hostname);
    if (literal !== 0) {
      reply([{ address: hostname, family: literal }]);
      return;
    }
    const fromHosts = hostsAddresses(readHosts(), hostname);
    if (fromHosts.length > 0) reply(fromHosts);
    else resolveDns(hostname, timeoutMs).then(reply, () => reply([]));
  };
}
