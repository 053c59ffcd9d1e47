/**
 * Tailnet detection for the `tailnetDns` hint: `tailscale status --json` (the MagicDNS
 * name, else the first tailnet IP) when the binary is on PATH, else this host's tailnet
 * interface addresses (100.64.0.0/10, fd7a:115c:a1e0::/48).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { delimiter, join } from "node:path"
import { isTailnetIpv4 } from "./ip.ts"

export interface TailnetInfo {
  readonly dnsName?: string | undefined
  readonly ipv4?: string | undefined
  readonly ipv6?: string | undefined
  readonly source: "tailscale" | "interfaces"
}

/** The hint to advertise: the MagicDNS name, else an address. */
export const tailnetHint = (info: TailnetInfo | undefined) => info?.dnsName ?? info?.ipv4 ?? info?.ipv6

/** Reads `tailscale status --json`: `Self.DNSName` (trailing dot stripped) and `Self.TailscaleIPs`. */
export const parseTailscaleStatus = (text: string): TailnetInfo | undefined => {
  const doc = Result.try(() => JSON.parse(text) as unknown)
  if (Result.isFailure(doc)) return undefined
  const self = (doc.success as { Self?: { DNSName?: unknown; TailscaleIPs?: unknown } } | null)?.Self
  if (self === undefined || self === null) return undefined
  const dns = typeof self.DNSName === "string" ? self.DNSName.replace(/\.$/, "") : ""
  const ips = Array.isArray(self.TailscaleIPs) ? self.TailscaleIPs.filter((x): x is string => typeof x === "string") : []
  const info: TailnetInfo = {
    dnsName: dns.length > 0 ? dns : undefined,
    ipv4: ips.find(isTailnetIpv4),
    ipv6: ips.find(isTailnetIpv6),
    source: "tailscale"
  }
  return info.dnsName ?? info.ipv4 ?? info.ipv6 ? info : undefined
}

/** The first tailnet addresses among `interfaces`. */
export const tailnetFromInterfaces = (interfaces = networkInterfaces()): TailnetInfo | undefined => {
  const all = Object.values(interfaces).flatMap((list) => list ?? [])
  const ipv4 = all.find((i) => i.family === "IPv4" && isTailnetIpv4(i.address))?.address
  const ipv6 = all.find((i) => i.family === "IPv6" && isTailnetIpv6(i.address))?.address
  return ipv4 ?? ipv6 ? { ipv4, ipv6, source: "interfaces" } : undefined
}

/** Asks tailscale (when on `path`; 1.5 s at most), else looks at the interfaces. Never fails. */
export const detectTailnet = (path: string | undefined): Effect.Effect<TailnetInfo | undefined> =>
  Effect.gen(function*() {
    const bin = (path ?? "").split(delimiter).filter((d) => d.length > 0).map((d) => join(d, "tailscale")).find((p) => existsSync(p))
    if (bin !== undefined) {
      const out = yield* runTailscale(bin).pipe(Effect.timeoutOption(Duration.millis(1500)))
      const info = out._tag === "Some" && out.value !== undefined ? parseTailscaleStatus(out.value) : undefined
      if (info !== undefined) return info
    }
    return tailnetFromInterfaces()
  })

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const isTailnetIpv6 = (address: string) => /^fd7a:115c:a1e0:/i.test(address)

const runTailscale = (bin: string) =>
  Effect.callback<string | undefined>((resume) => {
    const child = execFile(bin, ["status", "--json"], { maxBuffer: 4 * 1024 * 1024 }, (err, stdout) =>
      resume(Effect.succeed(err ? undefined : stdout)))
    return Effect.sync(() => child.kill())
  })
