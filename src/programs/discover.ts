/**
 * `discover`: gateways found by browsing, each with the endpoint to connect to
 * (from SRV + A/AAAA, never from TXT) and its TXT record kept apart as hints. A
 * fingerprint in the hints is shown, never stored: pinning needs the user's own check.
 */
import * as Effect from "effect/Effect"
import { isIP } from "node:net"
import { Discovery } from "../services/Discovery.ts"

/** One gateway as `discover` lists it. */
export interface DiscoverListing {
  readonly name: string
  /** ws:// (or wss:// when the hints say TLS) at the resolved address and SRV port. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly hostname: string | undefined
  readonly addresses: ReadonlyArray<string>
  readonly source: string
  /** The TXT record as advertised: unverified hints, never used for routing or pinning. */
  readonly hints: Readonly<Record<string, string>>
}

/** Browses for `timeoutMs` and lists what was found, sorted by name. */
export const discover = (timeoutMs: number) =>
  Effect.gen(function*() {
    const discovery = yield* Discovery
    const found = yield* discovery.browse(timeoutMs)
    return found
      .map((g): DiscoverListing => ({
        name: g.name,
        url: `${g.txt.gatewayTls === "1" ? "wss" : "ws"}://${isIP(g.host) === 6 ? `[${g.host}]` : g.host}:${g.port}`,
        host: g.host,
        port: g.port,
        hostname: g.hostname,
        addresses: g.addresses ?? [g.host],
        source: g.source,
        hints: g.txt
      }))
      .sort((a, b) => a.name.localeCompare(b.name))
  })
