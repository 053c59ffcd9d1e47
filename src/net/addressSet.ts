/**
 * A set of addresses and CIDR ranges (`gateway.trustedProxies`), matched with
 * Node's own `net.BlockList`, so IPv4, IPv6, IPv4-mapped IPv6 and prefixes are
 * all parsed by the platform rather than by string comparison.
 */
import { BlockList, isIP } from "node:net"
import { canonicalIp } from "./ip.ts"

export interface AddressSet {
  /** Whether `address` (any spelling) is in the set. */
  readonly has: (address: string) => boolean
}

/** Entries that are neither an IP address nor `address/prefix`. */
export const invalidEntries = (entries: ReadonlyArray<string>): ReadonlyArray<string> => entries.filter((e) => parse(e) === undefined)

/** The set of the valid `entries`. */
export const addressSet = (entries: ReadonlyArray<string>): AddressSet => {
  const list = new BlockList()
  for (const entry of entries) {
    const p = parse(entry)
    if (p === undefined) continue
    if (p.prefix === undefined) list.addAddress(p.address, p.family)
    else list.addSubnet(p.address, p.prefix, p.family)
  }
  return {
    has: (address) => {
      const ip = canonicalIp(address.replace(/^\[|\]$/g, ""))
      const family = isIP(ip)
      return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6")
    }
  }
}

// The set of each entries array already built: config arrays are immutable, so the set of one stays right.
const built = new WeakMap<ReadonlyArray<string>, AddressSet>()

/** `addressSet(entries)`, built once per array (the config's arrays, read for every connection). */
export const addressSetOf = (entries: ReadonlyArray<string>): AddressSet => {
  let set = built.get(entries)
  if (set === undefined) {
    set = addressSet(entries)
    built.set(entries, set)
  }
  return set
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const parse = (entry: string): { readonly address: string; readonly prefix: number | undefined; readonly family: "ipv4" | "ipv6" } | undefined => {
  const [raw, bits, ...rest] = entry.trim().split("/")
  if (raw === undefined || rest.length > 0) return undefined
  const address = canonicalIp(raw.replace(/^\[|\]$/g, ""))
  const family = isIP(address)
  if (family === 0) return undefined
  if (bits === undefined) return { address, prefix: undefined, family: family === 4 ? "ipv4" : "ipv6" }
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return undefined
  return { address, prefix, family: family === 4 ? "ipv4" : "ipv6" }
}
