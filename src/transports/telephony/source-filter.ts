import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../../core/errors.ts';

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The source addresses (IPs and CIDRs, IPv4 and IPv6) a bridge accepts connections from. An IPv4-mapped
 * IPv6 source (`::ffff:192.0.2.1`, what a dual-stack socket reports) matches its IPv4 entries. Empty: no
 * address restriction (the caller checks that some other authentication applies).
 */
export class SourceFilter {
  readonly #list = new BlockList();
  readonly empty: boolean;

  /** Throws ConfigError naming the entry that is neither an IP nor a CIDR. */
  constructor(entries: readonly string[], what: string) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [addr = '', prefixText, extra] = entry.trim().split('/');
      const family = isIP(addr);
      const prefix = prefixText === undefined ? undefined : Number(prefixText);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || extra !== undefined || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max))) {
        throw new ConfigError([`${what}: "${entry}" is not an IP address or CIDR`]);
      }
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, prefix, type);
    }
  }

  /** Whether `address` may connect (always true when the filter is empty). */
  allows(address: string | undefined): boolean {
    if (this.empty) return true;
    if (address === undefined) return false;
    const mapped = MAPPED_V4.exec(address);
    const a = mapped === null ? address : (mapped[1] as string);
    const family = isIP(a);
    if (family === 0) return false;
    return this.#list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }
}
