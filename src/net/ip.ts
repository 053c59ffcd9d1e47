/**
 * IP literal helpers. Loopback is decided by parsing the literal, never by a
 * string prefix, so `127.evil.com` is not loopback.
 */
import { isIP } from "node:net"

/** Folds an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, `::ffff:cb00:7109`, `0:0:0:0:0:ffff:…`) to its IPv4 form. */
export const canonicalIp = (address: string): string => {
  // A dotted IPv4 literal (the common case, checked several times per connection) is already canonical.
  if (isIP(address) === 4) return address
  const lower = address.toLowerCase()
  const mapped = lower.startsWith("::ffff:") ? lower.slice(7) : undefined
  if (mapped !== undefined && isIP(mapped) === 4) return mapped
  return isIP(lower) === 6 ? mappedHex(lower) ?? lower : lower
}

// The IPv4 address inside any other spelling of an IPv4-mapped IPv6 address, if it is one.
const mappedHex = (ip: string): string | undefined => {
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  const tail = dotted === null ? ip : dotted[1]!.slice(0, -1)
  const [head, rest] = tail.split("::")
  const left = head === "" || head === undefined ? [] : head.split(":")
  const right = rest === undefined || rest === "" ? [] : rest.split(":")
  const width = dotted === null ? 8 : 6
  const groups = rest === undefined ? left : [...left, ...Array(Math.max(0, width - left.length - right.length)).fill("0"), ...right]
  if (groups.length !== width || !groups.slice(0, 5).every((g) => /^0+$/.test(g)) || !/^0*ffff$/.test(groups[5]!)) return undefined
  if (dotted !== null) return dotted[2]
  const hi = parseInt(groups[6]!, 16)
  const lo = parseInt(groups[7]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/** Whether an address is an IP literal in 127.0.0.0/8 or ::1 (IPv4-mapped included). */
export const isLoopbackIp = (address: string): boolean => {
  if (address === "127.0.0.1") return true
  const ip = canonicalIp(address.replace(/^\[|\]$/g, ""))
  const family = isIP(ip)
  if (family === 4) return ip.split(".")[0] === "127"
  if (family === 6) return ip === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(ip)
  return false
}

/** Whether an address is an IPv4 address in the tailnet (CGNAT) range 100.64.0.0/10. */
export const isTailnetIpv4 = (address: string): boolean => {
  if (isIP(address) !== 4) return false
  const [a, b] = address.split(".").map(Number)
  return a === 100 && b !== undefined && b >= 64 && b <= 127
}

/** Whether a host string is an IP literal. */
export const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[|\]$/g, "")) !== 0

/** Whether an address is an RFC 1918, CGNAT/tailnet (100.64/10) or IPv6 ULA (fc00::/7) literal. */
export const isPrivateIp = (address: string): boolean => {
  const ip = canonicalIp(address)
  if (isIP(ip) === 4) {
    const [a, b] = ip.split(".").map(Number)
    return a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || isTailnetIpv4(ip)
  }
  return isIP(ip) === 6 && /^f[cd]/.test(ip)
}
