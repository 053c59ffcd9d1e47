/**
 * IP literal helpers. Loopback is decided by parsing the literal, never by a
 * string prefix, so `127.evil.com` is not loopback.
 */
import { isIP } from "node:net"

/** Folds an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to its IPv4 form. */
export const canonicalIp = (address: string): string => {
  const lower = address.toLowerCase()
  const mapped = lower.startsWith("::ffff:") ? lower.slice(7) : undefined
  return mapped !== undefined && isIP(mapped) === 4 ? mapped : lower
}

/** Whether an address is an IP literal in 127.0.0.0/8 or ::1 (IPv4-mapped included). */
export const isLoopbackIp = (address: string): boolean => {
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
