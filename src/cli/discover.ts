/**
 * `gatehouse discover [--timeout s] [--json] [--interface NAME] [--domain D [--dns IP]]`:
 * lists the gateways advertising `_openclaw-gw._tcp` on the LAN (mDNS), or in the
 * wide-area DNS-SD domain D (unicast DNS). The endpoint is the resolved SRV target and
 * port; the TXT record is printed as hints. Nothing is stored.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Layer from "effect/Layer"
import { printable } from "../text/printable.ts"
import { discover as discoverProgram, type DiscoverListing } from "../programs/discover.ts"
import { printJson, reportFailures } from "./output.ts"

export const discover = Command.make(
  "discover",
  {
    timeout: Flag.Finite("timeout").pipe(Flag.withDescription("Seconds to browse (default 2)"), Flag.withDefault(2)),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON"), Flag.withDefault(false)),
    interfaces: Flag.String("interface").pipe(
      Flag.withDescription("Browse only on these interfaces (comma-separated names, e.g. eth0,wlan0)"),
      Flag.optional
    ),
    domain: Flag.String("domain").pipe(
      Flag.withDescription("Browse this wide-area DNS-SD domain (unicast DNS) instead of the LAN, e.g. gw.example.internal"),
      Flag.optional
    ),
    dns: Flag.String("dns").pipe(Flag.withDescription("With --domain: ask this DNS server (ip or ip:port)"), Flag.optional)
  },
  (flags) => {
    const timeoutMs = Math.max(100, Math.round(flags.timeout * 1000))
    const names = Option.match(flags.interfaces, {
      onNone: () => [],
      onSome: (s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)
    })
    const domain = Option.getOrUndefined(flags.domain)
    const how = domain === undefined ? "mDNS" : `DNS-SD ${domain}`
    return reportFailures(
      Effect.gen(function*() {
        const found = yield* discoverProgram(timeoutMs)
        if (flags.json) return yield* printJson({ ok: true, timeoutMs, gateways: found })
        if (found.length === 0) {
          return yield* Console.log(`No gateway found within ${flags.timeout} s (${domain === undefined ? "mDNS _openclaw-gw._tcp on the LAN" : `_openclaw-gw._tcp.${domain}`}).`)
        }
        yield* Console.log(`Found ${found.length} gateway${found.length === 1 ? "" : "s"} (${how}, ${flags.timeout} s):`)
        for (const g of found) yield* Console.log(describe(g))
      }).pipe(Effect.provide(browser(names, domain, Option.getOrUndefined(flags.dns)))),
      flags.json
    )
  }
).pipe(Command.withDescription("Find gateways on the LAN (Bonjour/mDNS) or in a wide-area DNS-SD domain"))

// Loaded when the command runs: no other command pays for the discovery code.
const browser = (names: ReadonlyArray<string>, domain: string | undefined, server: string | undefined) =>
  domain === undefined
    ? Layer.unwrap(Effect.map(Effect.promise(() => import("../layers/DiscoveryMdns.ts")), (m) => m.layerBrowser(names)))
    : Layer.unwrap(Effect.map(Effect.promise(() => import("../layers/DiscoveryWideArea.ts")), (m) => m.layer({ domain, server })))

// Everything here came from the network: shown through `printable`, never raw.
const describe = (g: DiscoverListing) => {
  const hints = Object.entries(g.hints).map(([k, v]) => `${printable(k, 32)}=${printable(v, 128)}`).join(" ")
  return [
    "",
    printable(g.name, 128),
    `  endpoint  ${printable(g.url)}  (SRV ${printable(g.hostname ?? "?", 128)}:${g.port}, address ${g.addresses.map((a) => printable(a, 64)).join(", ")})`,
    `  hints     ${hints.length === 0 ? "(none)" : hints}  (TXT: advertised, unverified)`,
    ...(g.hints.gatewayTlsSha256 === undefined
      ? []
      : [`  tls       advertises sha256 ${printable(g.hints.gatewayTlsSha256, 64)}; not stored: compare it with the gateway host's own before trusting it`])
  ].join("\n")
}
