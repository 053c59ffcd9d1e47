/**
 * Discovery over Bonjour/mDNS: advertises `_openclaw-gw._tcp.local` on the LAN
 * interfaces and browses for other gateways.
 *
 * Built on npm `multicast-dns` 7.2.5 (with its `dns-packet` codec) rather than
 * `effect/socket` datagrams: it is the responder the shared testing notes verified
 * against avahi 0.8 and python-zeroconf 0.47 on this kind of machine, it sets the
 * socket options mDNS needs (SO_REUSEADDR on 0.0.0.0:5353, group membership per
 * interface, IP_MULTICAST_IF, TTL 255, loopback), and an undecodable datagram is a
 * `warning` event, never a throw. It is wrapped in scoped resources here, one socket
 * per interface, behind a small `Wire` seam so the advertiser's schedule, probing,
 * conflicts and goodbyes are tested with TestClock and no network.
 *
 * The advertiser is a supervised background fiber of the layer: it waits for
 * `publish` (the listener's port), probes its names (three probes 250 ms apart,
 * renaming "name (2)" on a conflict), announces (at once, after 1 s, then every
 * 96 s, 80 % of the host records' TTL), answers on-link queries, re-probes when the
 * interfaces change, and sends goodbyes (TTL 0) when the scope closes. Any failure
 * (socket refused, no LAN address, a conflict storm) is logged and retried with
 * backoff; it never reaches the gateway.
 *
 * With `discovery.wideArea.domain` set, a second background fiber keeps the wide-area
 * zone file (`discovery/zone.ts`) current, whether or not mDNS advertises.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Packet } from "dns-packet"
import makeMdns from "multicast-dns"
import { hostname as machineName, networkInterfaces } from "node:os"
import type { MdnsMode } from "../config/schema.ts"
import {
  type Advert,
  type Answer,
  announcement,
  answerTo,
  browseQuestions,
  conflictIn,
  goodbye,
  hostFqdn,
  hostLabel,
  instanceLabel,
  isOnLink,
  missingIn,
  probe,
  recordKey,
  renamedHost,
  renamedInstance,
  MAX_BROWSE_RECORDS,
  resolveBrowse,
  txtFor
} from "../discovery/records.ts"
import {
  type DiscoveredGateway,
  Discovery,
  DiscoveryError,
  type DiscoveryState,
  DiscoveryUnavailable,
  idleState,
  type PublishedEndpoint
} from "../services/Discovery.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import type { DiscoveryConfig } from "../config/resolve.ts"
import { detectTailnet, tailnetHint } from "../net/tailnet.ts"
import { bodyHash, type ZoneInput, zoneFile, zoneHash } from "../discovery/zone.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { readFile } from "node:fs/promises"

/** A LAN interface mDNS runs on: its IPv4 address (sockets are IPv4), and its IPv6 addresses for AAAA. */
export interface LanInterface {
  readonly name: string
  readonly address: string
  readonly netmask: string
  readonly ipv6: ReadonlyArray<string>
}

/** What arrives on a socket. */
export type WireEvent =
  | { readonly _tag: "Packet"; readonly packet: Packet; readonly from: { readonly address: string; readonly port: number } }
  | { readonly _tag: "Malformed"; readonly message: string }
  | { readonly _tag: "Failed"; readonly message: string }

/** One mDNS socket on one interface. */
export interface WireSocket {
  /** Multicast to 224.0.0.251:5353, or unicast to `to`. */
  readonly send: (packet: Packet, to?: { readonly address: string; readonly port: number }) => Effect.Effect<void, string>
  readonly events: Queue.Dequeue<WireEvent>
}

/** How sockets are opened: `nodeWire` in production, an in-memory wire in tests. */
export interface Wire {
  readonly open: (iface: LanInterface) => Effect.Effect<WireSocket, string, Scope.Scope>
}

/** What the advertiser needs beyond the published endpoint. */
export interface MdnsOptions {
  /** "off": browse only, never advertise. */
  readonly mode: MdnsMode
  /** The interfaces to use now (re-read to notice changes). */
  readonly interfaces: () => ReadonlyArray<LanInterface>
  /** The host label (without `.local`). */
  readonly host: string
  readonly displayName: string
  readonly sshPort?: number | undefined
  /** The `tailnetDns` hint, looked up (again) each time advertising starts on a set of interfaces. */
  readonly tailnetDns?: Effect.Effect<string | undefined> | undefined
  readonly cliPath?: string | undefined
  /** The tailnet addresses preferred in the wide-area zone. */
  readonly tailnetAddresses?: Effect.Effect<{ readonly ipv4?: string | undefined; readonly ipv6?: string | undefined } | undefined> | undefined
  /** Also write the wide-area zone file (whatever `mode` says about mDNS). */
  readonly wideArea?: { readonly domain: string; readonly zoneFile: string } | undefined
  readonly wire: Wire
}

/** Timing of the advertiser (RFC 6762 §8), exported for the tests' TestClock steps. */
export const TIMING = {
  probeInterval: Duration.millis(250),
  probes: 3,
  /** Announcements after the first: 1 s later, then the TTL refresh. */
  secondAnnouncement: Duration.seconds(1),
  refresh: Duration.seconds(96),
  /** RFC 6762 §8.1: after 15 conflicts in 10 s, wait 5 s before probing again. */
  conflictStormLimit: 15,
  conflictStormWindow: Duration.seconds(10),
  conflictStormDelay: Duration.seconds(5),
  interfacePoll: Duration.seconds(10),
  backoffBase: Duration.seconds(1),
  backoffMax: Duration.seconds(60)
} as const

/** Builds the mDNS Discovery service; the advertiser starts on the first `publish`. */
export const make = (options: MdnsOptions): Effect.Effect<Discovery["Service"], never, Scope.Scope> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<DiscoveryState>(idleState)
    const advertised = yield* Ref.make<ReadonlyArray<DiscoveredGateway>>([])
    const published = yield* Ref.make<PublishedEndpoint | undefined>(undefined)
    const kick = yield* Queue.unbounded<void>()
    const zoneKick = yield* Queue.unbounded<void>()
    if (options.mode !== "off") {
      yield* Effect.forkScoped(supervise(options, { state, advertised, published, kick }))
    }
    if (options.wideArea !== undefined) {
      yield* Effect.forkScoped(superviseZone(options, options.wideArea, published, zoneKick))
    }
    return Discovery.of({
      mode: options.mode === "off" && options.wideArea !== undefined ? "wide-area" : "mdns",
      browse: (timeoutMs) => browse(options, timeoutMs),
      advertised: Ref.get(advertised),
      publish: (endpoint) =>
        Effect.gen(function*() {
          const before = yield* Ref.getAndSet(published, endpoint)
          if (before === undefined || JSON.stringify(before) !== JSON.stringify(endpoint)) {
            Queue.offerUnsafe(kick, undefined)
            Queue.offerUnsafe(zoneKick, undefined)
          }
        }),
      state: Ref.get(state)
    })
  })

/** The gateway's mDNS Discovery, from its config (`discovery.mdns.*` and the OPENCLAW_* overrides). */
export const layer: Layer.Layer<Discovery, never, GatewayConfig> = Layer.unwrap(
  Effect.map(Effect.service(GatewayConfig), ({ config }) => layerFor(config.discovery))
)

/** The mDNS Discovery service for the given `discovery.*` settings. */
export const layerFor = (d: DiscoveryConfig): Layer.Layer<Discovery> => Layer.effect(
  Discovery,
  Effect.gen(function*() {
    const host = hostLabel(d.hostname ?? machineName())
    return yield* make({
      mode: d.mdnsMode.value,
      interfaces: () => lanInterfaces(d.interfaces),
      host,
      displayName: host,
      sshPort: d.sshPort,
      tailnetDns: d.tailnetDns === undefined ? Effect.map(detectTailnet(process.env.PATH), tailnetHint) : Effect.succeed(d.tailnetDns),
      tailnetAddresses: detectTailnet(process.env.PATH),
      wideArea: d.wideArea,
      cliPath: d.cliPath ?? process.argv[1],
      wire: nodeWire
    })
  })
)

/** Browsing only (the `discover` command): advertises nothing. */
export const layerBrowser = (interfaceNames: ReadonlyArray<string> = []): Layer.Layer<Discovery> =>
  Layer.effect(Discovery, make({ mode: "off", interfaces: () => lanInterfaces(interfaceNames), host: "openclaw", displayName: "openclaw", wire: nodeWire }))

/**
 * Keeps the wide-area zone file current: written (atomically, mode 0644 for the DNS
 * server) once the endpoint is published, rewritten only when its records change
 * (interfaces, endpoint); failures are logged and retried with backoff.
 */
const superviseZone = (
  options: MdnsOptions,
  wide: { readonly domain: string; readonly zoneFile: string },
  published: Ref.Ref<PublishedEndpoint | undefined>,
  kick: Queue.Queue<void>
) => {
  const attempt = Effect.gen(function*() {
    while (true) {
      yield* Queue.clear(kick)
      const endpoint = yield* Ref.get(published)
      if (endpoint === undefined) {
        yield* Queue.take(kick)
        continue
      }
      const ifaces = options.interfaces()
      const tailnet = options.tailnetAddresses === undefined ? undefined : yield* options.tailnetAddresses
      const ipv4 = tailnet?.ipv4 ?? ifaces[0]?.address
      if (ipv4 === undefined) {
        yield* Effect.logWarning(`wide-area: no tailnet or LAN IPv4 address for ${wide.domain}; the zone is written when one appears`)
      } else {
        const tailnetDns = options.tailnetDns === undefined ? undefined : yield* options.tailnetDns
        const zone: ZoneInput = {
          domain: wide.domain,
          host: options.host,
          port: endpoint.port,
          ipv4,
          ipv6: tailnet?.ipv4 !== undefined ? (tailnet.ipv6 === undefined ? [] : [tailnet.ipv6]) : ifaces[0]?.ipv6.filter((a) => !a.startsWith("fe80:")) ?? [],
          txt: advertTxt(options, endpoint, options.host, tailnetDns)
        }
        const previous = yield* Effect.promise(() => readFile(wide.zoneFile, "utf8").catch(() => undefined))
        if (previous === undefined || zoneHash(previous) !== bodyHash(zone)) {
          const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
          const before = previous === undefined ? 0 : Number(/ SOA \S+ \S+ (\d+) /.exec(previous)?.[1] ?? 0)
          yield* writeFileAtomic(wide.zoneFile, zoneFile(zone, Math.max(now, before + 1)), 0o644).pipe(
            Effect.mapError((e) => new Failure(`writing ${wide.zoneFile}: ${e.message}`))
          )
          yield* Effect.logInfo(`wide-area: wrote the ${wide.domain} zone to ${wide.zoneFile}`)
        }
      }
      yield* Effect.raceFirst(waitForChange(options, snapshotKey(ifaces)), Queue.take(kick))
    }
  })
  return attempt.pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.fail(new Failure(failureMessage(cause)))
    ),
    Effect.tapError((f) => Effect.logWarning(`wide-area zone failed, retrying with backoff: ${f.message}`)),
    Effect.retry(Schedule.min([Schedule.exponential(TIMING.backoffBase), Schedule.spaced(TIMING.backoffMax)]))
  )
}

/** Whether this machine has a LAN interface mDNS could run on. */
export const hasLanInterface = (names: ReadonlyArray<string> = []) => lanInterfaces(names).length > 0

/**
 * The non-loopback interfaces with an IPv4 address, limited to `names` when given
 * (IPv4 is what the sockets speak; the interface's IPv6 addresses go into AAAA).
 */
export const lanInterfaces = (names: ReadonlyArray<string>): ReadonlyArray<LanInterface> => {
  const out: Array<LanInterface> = []
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (names.length > 0 && !names.includes(name)) continue
    const v4 = (list ?? []).find((i) => i.family === "IPv4" && !i.internal)
    if (v4 === undefined) continue
    const ipv6 = (list ?? []).filter((i) => i.family === "IPv6" && !i.internal).map((i) => i.address.toLowerCase())
    out.push({ name, address: v4.address, netmask: v4.netmask, ipv6 })
  }
  return out
}

/** Sockets on npm multicast-dns: one per interface, bound to 0.0.0.0:5353, sending from that interface. */
export const nodeWire: Wire = {
  open: (iface) =>
    Effect.gen(function*() {
      const events = yield* Queue.unbounded<WireEvent>()
      const socket = yield* Effect.acquireRelease(
        Effect.callback<ReturnType<typeof makeMdns>, string>((resume) => {
          const m = makeMdns({ interface: iface.address, bind: "0.0.0.0", reuseAddr: true, loopback: true, ttl: 255 })
          // Listeners for the socket's whole life: an unhandled "error" event would throw in the process.
          m.on("packet", (packet, from) => Queue.offerUnsafe(events, { _tag: "Packet", packet, from: { address: from.address, port: from.port } }))
          m.on("warning", (e: Error) => Queue.offerUnsafe(events, { _tag: "Malformed", message: e.message }))
          let ready = false
          m.on("error", (e: Error) => {
            if (ready) Queue.offerUnsafe(events, { _tag: "Failed", message: e.message })
            else resume(Effect.fail(`mDNS socket on ${iface.name} (${iface.address}): ${e.message}`))
          })
          m.once("ready", () => {
            ready = true
            resume(Effect.succeed(m))
          })
          return Effect.sync(() => m.destroy())
        }),
        (m) => Effect.callback<void>((resume) => void m.destroy(() => resume(Effect.void)))
      )
      return {
        events,
        send: (packet, to) =>
          Effect.callback<void, string>((resume) => {
            try {
              ;(socket as unknown as RawSend).send(packet, to === undefined ? null : { address: to.address, port: to.port }, (err) =>
                resume(err ? Effect.fail(`send on ${iface.name}: ${err.message}`) : Effect.void))
            } catch (e) {
              resume(Effect.fail(`send on ${iface.name}: ${e instanceof Error ? e.message : String(e)}`))
            }
          })
      } satisfies WireSocket
    })
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The TXT hints of an advert, the same on the LAN and in the wide-area zone.
const advertTxt = (options: MdnsOptions, endpoint: PublishedEndpoint, host: string, tailnetDns: string | undefined) =>
  txtFor({
    mode: options.mode === "full" ? "full" : "minimal",
    displayName: options.displayName,
    lanHost: `${host}.local`,
    gatewayPort: endpoint.port,
    tlsSha256: endpoint.tlsSha256,
    canvasPort: endpoint.canvasPort,
    tailnetDns,
    sshPort: options.sshPort,
    cliPath: options.cliPath
  })

// multicast-dns's `send` (any packet, multicast or unicast) is public but missing from its typings.
interface RawSend {
  readonly send: (packet: Packet, to: { address: string; port: number } | null, cb: (err: Error | null) => void) => void
}

interface Shared {
  readonly state: Ref.Ref<DiscoveryState>
  readonly advertised: Ref.Ref<ReadonlyArray<DiscoveredGateway>>
  readonly published: Ref.Ref<PublishedEndpoint | undefined>
  readonly kick: Queue.Queue<void>
}

class Failure {
  readonly _tag = "Failure"
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

const snapshotKey = (ifaces: ReadonlyArray<LanInterface>) => JSON.stringify(ifaces)

/** Runs the advertiser forever: restarts on a new endpoint or changed interfaces, backs off after failures. */
const supervise = (options: MdnsOptions, shared: Shared) => {
  // Waits for the first `publish`; a retry after a failure starts advertising again at once.
  const attempt = Effect.gen(function*() {
    while (true) {
      // A kick means "read the endpoint again": the ones already pending are answered by this read.
      yield* Queue.clear(shared.kick)
      const endpoint = yield* Ref.get(shared.published)
      if (endpoint === undefined) {
        yield* Queue.take(shared.kick)
        continue
      }
      const ifaces = options.interfaces()
      const changed = waitForChange(options, snapshotKey(ifaces))
      const republished = Queue.take(shared.kick)
      if (ifaces.length === 0) {
        yield* Ref.set(shared.advertised, [])
        yield* Ref.update(shared.state, (s) => ({ ...s, phase: "backoff" as const, interfaces: [], lastError: "no LAN interface with an IPv4 address" }))
        yield* Effect.logWarning("mDNS: no LAN interface with an IPv4 address; advertising when one appears")
        yield* Effect.raceFirst(changed, republished)
        continue
      }
      yield* Effect.raceFirst(advertiseOn(options, shared, endpoint, ifaces), Effect.raceFirst(changed, republished))
      yield* Effect.logInfo("mDNS: interfaces or endpoint changed; advertising again")
    }
  })
  const backoff = Schedule.min([Schedule.exponential(TIMING.backoffBase), Schedule.spaced(TIMING.backoffMax)])
  return attempt.pipe(
    // Every failure, a defect included, is logged and retried; only interruption ends the advertiser.
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.fail(new Failure(failureMessage(cause)))
    ),
    Effect.tapError((f) =>
      Effect.andThen(
        Ref.update(shared.state, (s) => ({ ...s, phase: "backoff" as const, restarts: s.restarts + 1, lastError: f.message })),
        Effect.logWarning(`mDNS advertiser failed, retrying with backoff: ${f.message}`)
      )
    ),
    Effect.retry(backoff),
    Effect.onInterrupt(() => Ref.set(shared.advertised, []))
  )
}

const failureMessage = (cause: Cause.Cause<unknown>) => {
  const e = Cause.squash(cause)
  return e instanceof Failure ? e.message : typeof e === "string" ? e : e instanceof Error ? e.message : Cause.pretty(cause)
}

const waitForChange = (options: MdnsOptions, key: string) =>
  Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(TIMING.interfacePoll)
      if (snapshotKey(options.interfaces()) !== key) return
    }
  })

/** Advertises on `ifaces` until a failure; renames and re-probes on each conflict. */
const advertiseOn = (options: MdnsOptions, shared: Shared, endpoint: PublishedEndpoint, ifaces: ReadonlyArray<LanInterface>) =>
  Effect.scoped(Effect.gen(function*() {
    const sockets = yield* Effect.forEach(ifaces, (iface) =>
      Effect.map(Effect.mapError(options.wire.open(iface), (m) => new Failure(m)), (socket) => ({ iface, socket })))
    const own = new Set(ifaces.flatMap((i) => [i.address, ...i.ipv6]))
    const tailnetDns = options.tailnetDns === undefined ? undefined : yield* options.tailnetDns
    let instanceN = 1
    let hostN = 1
    const recent: Array<number> = []
    while (true) {
      const names = { instance: renamedInstance(instanceLabel(options.displayName), instanceN), host: renamedHost(options.host, hostN) }
      const adverts = sockets.map(({ iface }) => advertFor(options, endpoint, names, iface, tailnetDns))
      const outcome = yield* round(options, shared, sockets, adverts, own)
      // A conflict: rename the name that lost and probe again (RFC 6762 §9).
      if (outcome === "instance") instanceN++
      else hostN++
      const now = yield* Clock.currentTimeMillis
      recent.push(now)
      while (recent.length > 0 && now - recent[0]! > Duration.toMillis(TIMING.conflictStormWindow)) recent.shift()
      yield* Ref.update(shared.state, (s) => ({ ...s, conflicts: s.conflicts + 1 }))
      yield* Effect.logWarning(`mDNS: name conflict on the ${outcome} name; renaming and probing again`).pipe(
        Effect.annotateLogs({ instance: names.instance, host: names.host })
      )
      if (recent.length >= TIMING.conflictStormLimit) yield* Effect.sleep(TIMING.conflictStormDelay)
    }
  }))

const advertFor = (
  options: MdnsOptions,
  endpoint: PublishedEndpoint,
  names: { readonly instance: string; readonly host: string },
  iface: LanInterface,
  tailnetDns: string | undefined
): Advert => ({
  instance: names.instance,
  host: names.host,
  port: endpoint.port,
  ipv4: [iface.address],
  ipv6: iface.ipv6,
  txt: advertTxt(options, endpoint, names.host, tailnetDns)
})

type Socketed = ReadonlyArray<{ readonly iface: LanInterface; readonly socket: WireSocket }>

/** One naming round: probe, announce, serve; ends with the name that lost a conflict, or fails. */
const round = (options: MdnsOptions, shared: Shared, sockets: Socketed, adverts: ReadonlyArray<Advert>, own: ReadonlySet<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const conflict = yield* Deferred.make<"instance" | "host", Failure>()
    const phase = yield* Ref.make<"probing" | "advertising">("probing")
    yield* Ref.update(shared.state, (s) => ({ ...s, phase: "probing" as const, interfaces: sockets.map((s) => s.iface.name), lastError: undefined }))
    yield* Effect.forEach(sockets, ({ iface, socket }, i) => Effect.forkScoped(serve(socket, iface, adverts[i]!, own, phase, conflict)), { discard: true })
    const sendAll = (packets: (a: Advert) => Packet) =>
      Effect.forEach(sockets, ({ socket }, i) => Effect.mapError(socket.send(packets(adverts[i]!)), (m) => new Failure(m)), { discard: true })
    const probing = Effect.gen(function*() {
      for (let i = 0; i < TIMING.probes; i++) {
        yield* sendAll(probe)
        yield* Effect.sleep(TIMING.probeInterval)
      }
      yield* Ref.set(phase, "advertising")
      yield* sendAll(announcement)
      // Registered once announced: closing the round (shutdown, rename, restart) withdraws the records.
      yield* Effect.addFinalizer(() => Effect.ignore(sendAll(goodbye)))
      const first = adverts[0]!
      yield* Ref.set(shared.advertised, [{
        name: first.instance,
        host: hostFqdn(first),
        port: first.port,
        hostname: hostFqdn(first),
        addresses: adverts.flatMap((a) => [...a.ipv4, ...a.ipv6]),
        txt: Object.fromEntries(first.txt),
        source: "mdns"
      }])
      yield* Ref.update(shared.state, (s) => ({ ...s, phase: "advertising" as const }))
      yield* Effect.logInfo(`mDNS: advertising "${first.instance}" on ${sockets.map((s) => s.iface.name).join(", ")}`)
      yield* Effect.sleep(TIMING.secondAnnouncement)
      yield* sendAll(announcement)
      while (true) {
        yield* Effect.sleep(TIMING.refresh)
        yield* sendAll(announcement)
      }
    })
    return yield* Effect.raceFirst(Deferred.await(conflict), probing)
  }))

/** Handles what arrives on one socket: answers queries, watches for conflicts, ignores the rest. */
const serve = (
  socket: WireSocket,
  iface: LanInterface,
  advert: Advert,
  own: ReadonlySet<string>,
  phase: Ref.Ref<"probing" | "advertising">,
  conflict: Deferred.Deferred<"instance" | "host", Failure>
) =>
  Effect.gen(function*() {
    const lastMulticast = new Map<string, number>()
    while (true) {
      const event = yield* Queue.take(socket.events)
      if (event._tag === "Failed") return yield* Deferred.fail(conflict, new Failure(`mDNS socket on ${iface.name}: ${event.message}`))
      if (event._tag === "Malformed") {
        yield* Effect.logDebug(`mDNS: ignored an undecodable packet on ${iface.name}: ${event.message}`)
        continue
      }
      const { from, packet } = event
      // Our own multicast comes back (loopback); other interfaces' traffic and off-link senders are not ours to answer.
      if (own.has(from.address) || !isOnLink(from.address, iface)) continue
      if (packet.type === "response") {
        // RFC 6762 §6: a response not from port 5353 is ignored.
        if (from.port !== 5353) continue
        const lost = conflictIn(advert, packet)
        if (lost !== undefined) yield* Deferred.succeed(conflict, lost)
        continue
      }
      if ((yield* Ref.get(phase)) !== "advertising") continue
      const legacy = from.port !== 5353
      const now = yield* Clock.currentTimeMillis
      for (const [key, at] of lastMulticast) if (now - at >= 1000) lastMulticast.delete(key)
      const answer = answerTo(advert, packet, legacy, new Set(lastMulticast.keys()))
      if (answer === undefined) continue
      // RFC 6762 §6: a record is multicast at most once a second per link, so a query flood is not amplified.
      if (!legacy) for (const a of answer.answers ?? []) if (a.type !== "OPT") lastMulticast.set(recordKey(a), now)
      const sent = yield* Effect.result(socket.send(answer, legacy ? from : undefined))
      if (sent._tag === "Failure") yield* Effect.logDebug(`mDNS: answer not sent on ${iface.name}: ${sent.failure}`)
    }
  })

/** Browses every interface for `timeoutMs`, asking again for what is still unresolved. */
const browse = (options: MdnsOptions, timeoutMs: number) =>
  Effect.scoped(Effect.gen(function*() {
    const ifaces = options.interfaces()
    if (ifaces.length === 0) {
      return yield* new DiscoveryError({ reason: new DiscoveryUnavailable({ message: "no LAN interface with an IPv4 address to browse on" }) })
    }
    const sockets = yield* Effect.forEach(ifaces, (iface) => Effect.map(options.wire.open(iface), (socket) => ({ iface, socket }))).pipe(
      Effect.mapError((message) => new DiscoveryError({ reason: new DiscoveryUnavailable({ message }) }))
    )
    const records: Array<Answer> = []
    for (const { iface, socket } of sockets) {
      yield* Effect.forkScoped(Effect.gen(function*() {
        while (true) {
          const event = yield* Queue.take(socket.events)
          if (event._tag !== "Packet" || event.packet.type !== "response") continue
          if (event.from.port !== 5353 || !isOnLink(event.from.address, iface)) continue
          for (const a of [...(event.packet.answers ?? []), ...(event.packet.additionals ?? [])]) {
            if (records.length >= MAX_BROWSE_RECORDS) break
            if (a.type !== "OPT") records.push(a)
          }
        }
      }))
    }
    const ask = Effect.forEach(sockets, ({ socket }) =>
      Effect.ignore(socket.send({ type: "query", id: 0, flags: 0, questions: browseQuestions(missingIn(records)) })), { discard: true })
    yield* ask
    let elapsed = 0
    for (const step of [300, 700, 1000]) {
      if (elapsed + step >= timeoutMs) break
      yield* Effect.sleep(Duration.millis(step))
      elapsed += step
      yield* ask
    }
    yield* Effect.sleep(Duration.millis(Math.max(0, timeoutMs - elapsed)))
    return resolveBrowse(records).map((s): DiscoveredGateway => {
      const onLink = s.addresses.find((a) => ifaces.some((i) => isOnLink(a, i)))
      return {
        name: s.instance,
        host: onLink ?? s.addresses[0]!,
        port: s.port,
        hostname: s.hostname,
        addresses: s.addresses,
        txt: s.txt,
        source: "mdns"
      }
    })
  }))
