/**
 * Which client an address belongs to, for everything counted per client (failed
 * credentials, sockets, bytes in flight, pairing requests): an IPv6 client owns at
 * least a /64, so it is counted as one; IPv4 per address (IPv4-mapped IPv6 folded);
 * the whole of 127.0.0.0/8 and ::1 is the one "loopback" client.
 */
import { isIP } from "node:net"
import { canonicalIp, isLoopbackIp } from "./ip.ts"

/** The one key of every loopback address. */
export const LOOPBACK_CLIENT = "loopback"

/** The client key of an address. */
export const clientKey = (address: string): string => {
  if (isLoopbackIp(address)) return LOOPBACK_CLIENT
  const ip = canonicalIp(address)
  if (isIP(ip) !== 6) return ip
  const [head, tail] = ip.split("::")
  const left = head === "" || head === undefined ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`
}
