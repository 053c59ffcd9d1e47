/**
 * Discovery over unicast DNS-SD (the wide-area beacon): browses `_openclaw-gw._tcp.<domain>`
 * through the system resolver, or through `server` when given. PTR gives the instances,
 * SRV the host and port, A/AAAA of the SRV target the address; TXT is kept as hints.
 * Advertises nothing (the gateway's side is the zone file `DiscoveryMdns` writes).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Resolver } from "node:dns/promises"
import { isIP } from "node:net"
import { type DiscoveredGateway, Discovery, DiscoveryError, DiscoveryUnavailable, idleState } from "../services/Discovery.ts"
import { parseTxt } from "../discovery/records.ts"

export interface WideAreaOptions {
  readonly domain: string
  /** A DNS server ("ip" or "ip:port"); absent: the system resolver's. */
  readonly server?: string | undefined
}

export const make = (options: WideAreaOptions) =>
  Discovery.of({
    mode: "wide-area",
    browse: (timeoutMs) =>
      Effect.gen(function*() {
        const resolver = new Resolver({ timeout: Math.max(200, Math.min(timeoutMs, 2000)), tries: 1 })
        if (options.server !== undefined) {
          yield* Effect.try({
            try: () => resolver.setServers([options.server!]),
            catch: (e) => unavailable(`--dns ${options.server}: ${e instanceof Error ? e.message : String(e)}`)
          })
        }
        const type = `_openclaw-gw._tcp.${options.domain.replace(/\.$/, "")}`
        const instances = yield* lookup(() => resolver.resolvePtr(type), [])
        const found = yield* Effect.forEach(instances, (instance) => resolveInstance(resolver, instance, type), { concurrency: 6 })
        return found.filter((g): g is DiscoveredGateway => g !== undefined).sort((a, b) => a.name.localeCompare(b.name))
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs + 1000),
          orElse: () => Effect.fail(unavailable(`no answer from ${options.server ?? "the system resolver"} for ${options.domain} in time`))
        }),
        Effect.catchDefect((e) => Effect.fail(unavailable(e instanceof Error ? e.message : String(e))))
      ),
    advertised: Effect.succeed([]),
    publish: () => Effect.void,
    state: Effect.succeed(idleState)
  })

export const layer = (options: WideAreaOptions) => Layer.succeed(Discovery, make(options))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const unavailable = (message: string) => new DiscoveryError({ reason: new DiscoveryUnavailable({ message }) })

// NXDOMAIN / NODATA mean "nothing there"; other resolver errors (no server, refused) fail the browse.
const lookup = <A>(query: () => Promise<A>, empty: A) =>
  Effect.tryPromise({ try: query, catch: (e) => e as NodeJS.ErrnoException }).pipe(
    Effect.catch((e) => (e.code === "ENOTFOUND" || e.code === "ENODATA" ? Effect.succeed(empty) : Effect.fail(unavailable(`DNS: ${e.code ?? ""} ${e.message}`))))
  )

const resolveInstance = (resolver: Resolver, instance: string, type: string) =>
  Effect.gen(function*(): Effect.fn.Return<DiscoveredGateway | undefined, DiscoveryError> {
    const srv = (yield* lookup(() => resolver.resolveSrv(instance), []))[0]
    if (srv === undefined) return undefined
    const [v4, v6, txt] = yield* Effect.all([
      lookup(() => resolver.resolve4(srv.name), [] as Array<string>),
      lookup(() => resolver.resolve6(srv.name), [] as Array<string>),
      lookup(() => resolver.resolveTxt(instance), [] as Array<Array<string>>)
    ])
    const addresses = [...v4, ...v6].filter((a) => isIP(a) !== 0)
    if (addresses.length === 0) return undefined
    const name = instance.endsWith(`.${type}`) ? instance.slice(0, -(type.length + 1)) : instance
    return {
      name,
      host: addresses[0]!,
      port: srv.port,
      hostname: srv.name,
      addresses,
      txt: parseTxt(txt.flat()),
      source: "wide-area"
    }
  })
