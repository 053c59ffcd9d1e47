import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import packet from "dns-packet"
import { type LanInterface, make, type MdnsOptions, type Wire, type WireEvent } from "../../src/layers/DiscoveryMdns.ts"
import { SERVICE_TYPE } from "../../src/discovery/records.ts"
import * as Gateway from "../../src/gateway.ts"
import { Discovery } from "../../src/services/Discovery.ts"
import { homeWithConfig, testConfigLayer } from "../helpers/testGateway.ts"

const eth0: LanInterface = { name: "eth0", address: "192.168.1.20", netmask: "255.255.255.0", ipv6: [] }

interface Sent {
  readonly packet: packet.Packet
  readonly to: { readonly address: string; readonly port: number } | undefined
}

/** An in-memory wire: what the advertiser sends is queued for the test; the test injects what arrives. */
const memoryWire = Effect.gen(function*() {
  const sent = yield* Queue.unbounded<Sent>()
  const inbound = yield* Queue.unbounded<WireEvent>()
  let failOpen: string | undefined
  const wire: Wire = {
    open: () =>
      failOpen === undefined
        ? Effect.succeed({
          events: inbound,
          // Encoded and decoded, as on a real socket.
          send: (p, to) => Effect.sync(() => void Queue.offerUnsafe(sent, { packet: packet.decode(packet.encode(p)), to }))
        })
        : Effect.fail(failOpen)
  }
  const inject = (p: packet.Packet, from = { address: "192.168.1.30", port: 5353 }) =>
    Queue.offer(inbound, { _tag: "Packet", packet: packet.decode(packet.encode(p)), from })
  return {
    wire,
    inject,
    injectEvent: (e: WireEvent) => Queue.offer(inbound, e),
    next: Queue.take(sent),
    pending: Effect.map(Queue.size(sent), (n) => n),
    setFailOpen: (m: string | undefined) => Effect.sync(() => void (failOpen = m))
  }
})

const options = (wire: Wire, over: Partial<MdnsOptions> = {}): MdnsOptions => ({
  mode: "minimal",
  interfaces: () => [eth0],
  host: "box",
  displayName: "box",
  wire,
  ...over
})

const kind = (s: Sent) => (s.packet.type === "query" ? "probe" : (s.packet.answers ?? []).every((a) => (a as { ttl: number }).ttl === 0) ? "goodbye" : "announce")
const srvName = (s: Sent) => (s.packet.type === "query" ? s.packet.questions![0]!.name : s.packet.answers!.find((a) => a.type === "SRV")!.name)

const quiet = Effect.provide(Layer.succeed(References.MinimumLogLevel, "None"))

/** Probes three times 250 ms apart and announces; returns once the first announcement is out. */
const untilAdvertising = (w: Effect.Success<typeof memoryWire>) =>
  Effect.gen(function*() {
    const probes: Array<Sent> = [yield* w.next]
    for (let i = 1; i < 3; i++) {
      yield* TestClock.adjust("250 millis")
      probes.push(yield* w.next)
    }
    yield* TestClock.adjust("250 millis")
    return { probes, announce: yield* w.next }
  })

describe("DiscoveryMdns advertiser", () => {
  it.effect("waits for publish, probes three times 250 ms apart, announces at once, after 1 s, then every 96 s", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* w.pending, 0)
      assert.strictEqual((yield* d.state).phase, "idle")
      yield* d.publish({ port: 18789 })
      const { announce, probes } = yield* untilAdvertising(w)
      assert.deepStrictEqual(probes.map(kind), ["probe", "probe", "probe"])
      assert.strictEqual(kind(announce), "announce")
      assert.deepStrictEqual(yield* d.state, { phase: "advertising", interfaces: ["eth0"], conflicts: 0, restarts: 0, lastError: undefined })
      assert.deepStrictEqual((yield* d.advertised).map((a) => [a.name, a.host, a.port]), [["box (OpenClaw)", "box.local", 18789]])
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* w.pending, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(kind(yield* w.next), "announce")
      yield* TestClock.adjust("95 seconds")
      assert.strictEqual(yield* w.pending, 0)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(kind(yield* w.next), "announce")
    }).pipe(quiet))

  it.effect("sends a goodbye (every record with TTL 0) when its scope closes", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const scope = yield* Scope.make()
      const d = yield* Scope.provide(make(options(w.wire)), scope)
      yield* d.publish({ port: 18789 })
      yield* untilAdvertising(w)
      yield* Scope.close(scope, Exit.void)
      const bye = yield* w.next
      assert.strictEqual(kind(bye), "goodbye")
      assert.deepStrictEqual((bye.packet.answers ?? []).map((a) => a.type).sort(), ["A", "PTR", "SRV", "TXT"])
    }).pipe(quiet))

  it.effect("renames to \"name (2)\" when another responder holds the name while probing, and reports the conflict", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      const first = yield* w.next
      assert.strictEqual(srvName(first), `box (OpenClaw).${SERVICE_TYPE}`)
      yield* w.inject({ type: "response", answers: [{ name: `box (OpenClaw).${SERVICE_TYPE}`, type: "SRV", ttl: 120, data: { port: 1, target: "other.local" } }] })
      const renamed = yield* w.next
      assert.strictEqual(kind(renamed), "probe")
      assert.strictEqual(srvName(renamed), `box (OpenClaw) (2).${SERVICE_TYPE}`)
      assert.strictEqual((yield* d.state).conflicts, 1)
      for (let i = 1; i < 3; i++) {
        yield* TestClock.adjust("250 millis")
        yield* w.next
      }
      yield* TestClock.adjust("250 millis")
      assert.strictEqual(srvName(yield* w.next), `box (OpenClaw) (2).${SERVICE_TYPE}`)
      assert.deepStrictEqual((yield* d.advertised).map((a) => a.name), ["box (OpenClaw) (2)"])
    }).pipe(quiet))

  it.effect("after 15 conflicts within 10 s it waits 5 s before probing again (RFC 6762 §8.1)", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      for (let i = 0; i < 15; i++) {
        const probed = yield* w.next
        yield* w.inject({ type: "response", answers: [{ name: srvName(probed), type: "SRV", ttl: 120, data: { port: 1, target: "storm.local" } }] })
      }
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* w.pending, 0)
      assert.strictEqual((yield* d.state).conflicts, 15)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(srvName(yield* w.next), `box (OpenClaw) (16).${SERVICE_TYPE}`)
    }).pipe(quiet))

  it.effect("answers on-link queries (multicast, or unicast to a legacy querier) and ignores off-link ones and its own", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      yield* untilAdvertising(w)
      const query: packet.Packet = { type: "query", id: 7, questions: [{ name: SERVICE_TYPE, type: "PTR" }] }
      yield* w.inject(query, { address: "10.9.9.9", port: 5353 })
      yield* w.inject(query, { address: "192.168.1.20", port: 5353 })
      yield* w.inject(query, { address: "192.168.1.31", port: 5353 })
      const multicast = yield* w.next
      assert.isUndefined(multicast.to)
      assert.deepStrictEqual(multicast.packet.answers?.map((a) => a.type), ["PTR"])
      yield* w.inject(query, { address: "192.168.1.31", port: 40000 })
      const unicast = yield* w.next
      assert.deepStrictEqual(unicast.to, { address: "192.168.1.31", port: 40000 })
      assert.strictEqual(unicast.packet.id, 7)
      assert.strictEqual(yield* w.pending, 0)
    }).pipe(quiet))

  it.effect("multicasts a record at most once a second, however many queries arrive", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      yield* untilAdvertising(w)
      yield* TestClock.adjust("1 second")
      yield* w.next
      const query: packet.Packet = { type: "query", id: 0, questions: [{ name: SERVICE_TYPE, type: "PTR" }] }
      for (let i = 0; i < 20; i++) yield* w.inject(query, { address: "192.168.1.31", port: 5353 })
      yield* w.inject({ type: "query", questions: [{ name: "box.local", type: "A" }] }, { address: "192.168.1.31", port: 5353 })
      assert.deepStrictEqual((yield* w.next).packet.answers?.map((a) => a.type), ["PTR"])
      assert.deepStrictEqual((yield* w.next).packet.answers?.map((a) => a.type), ["A"])
      assert.strictEqual(yield* w.pending, 0)
      yield* TestClock.adjust("1 second")
      yield* w.inject(query, { address: "192.168.1.31", port: 5353 })
      assert.deepStrictEqual((yield* w.next).packet.answers?.map((a) => a.type), ["PTR"])
    }).pipe(quiet))

  it.effect("keeps advertising through undecodable packets and junk", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      yield* untilAdvertising(w)
      for (let i = 0; i < 50; i++) yield* w.injectEvent({ _tag: "Malformed", message: "Cannot decode name (buffer overflow)" })
      yield* w.inject({ type: "response", answers: [{ name: "x.local", type: "A", ttl: 120, data: "192.168.1.77" }] })
      yield* w.inject({ type: "query", questions: [{ name: SERVICE_TYPE, type: "PTR" }] })
      assert.deepStrictEqual((yield* w.next).packet.answers?.map((a) => a.type), ["PTR"])
      assert.strictEqual((yield* d.state).phase, "advertising")
    }).pipe(quiet))

  it.effect("a socket that cannot open is retried with exponential backoff, never failing the caller", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      yield* w.setFailOpen("bind EADDRINUSE 0.0.0.0:5353")
      const d = yield* make(options(w.wire))
      yield* d.publish({ port: 18789 })
      yield* TestClock.adjust("0 millis")
      const failed = yield* d.state
      assert.strictEqual(failed.phase, "backoff")
      assert.strictEqual(failed.restarts, 1)
      assert.strictEqual(failed.lastError, "bind EADDRINUSE 0.0.0.0:5353")
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* d.state).restarts, 2)
      yield* w.setFailOpen(undefined)
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(yield* w.pending, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(kind(yield* w.next), "probe")
    }).pipe(quiet))

  it.effect("with no LAN interface it waits (state backoff) and advertises once one appears", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      let ifaces: ReadonlyArray<LanInterface> = []
      const d = yield* make(options(w.wire, { interfaces: () => ifaces }))
      yield* d.publish({ port: 18789 })
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(yield* d.state, { phase: "backoff", interfaces: [], conflicts: 0, restarts: 0, lastError: "no LAN interface with an IPv4 address" })
      ifaces = [eth0]
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(kind(yield* w.next), "probe")
    }).pipe(quiet))

  it.effect("withdraws and re-probes when the interfaces change (noticed within 10 s)", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      let ifaces: ReadonlyArray<LanInterface> = [eth0]
      const d = yield* make(options(w.wire, { interfaces: () => ifaces }))
      yield* d.publish({ port: 18789 })
      yield* untilAdvertising(w)
      yield* TestClock.adjust("1 second")
      yield* w.next
      ifaces = [{ ...eth0, address: "192.168.1.21" }]
      yield* TestClock.adjust("9 seconds")
      const bye = yield* w.next
      assert.strictEqual(kind(bye), "goodbye")
      assert.isTrue((bye.packet.answers ?? []).some((a) => a.type === "A" && a.data === "192.168.1.20"))
      const { announce } = yield* untilAdvertising(w)
      assert.isTrue((announce.packet.answers ?? []).some((a) => a.type === "A" && a.data === "192.168.1.21"))
    }).pipe(quiet))

  it.effect("mode off advertises nothing, even when published", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire, { mode: "off" }))
      yield* d.publish({ port: 18789 })
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* w.pending, 0)
      assert.deepStrictEqual(yield* d.advertised, [])
    }))
})

describe("DiscoveryMdns browse", () => {
  it.effect("resolves the endpoint from SRV + A within the timeout, asking again for what is missing", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire, { mode: "off" }))
      const fiber = yield* Effect.forkChild(d.browse(2000))
      const first = yield* w.next
      assert.deepStrictEqual(first.packet.questions?.map((q) => [q.name, q.type]), [[SERVICE_TYPE, "PTR"]])
      yield* w.inject({ type: "response", answers: [{ name: SERVICE_TYPE, type: "PTR", ttl: 4500, data: `gw.${SERVICE_TYPE}` }] })
      yield* w.inject({ type: "response", answers: [{ name: `gw.${SERVICE_TYPE}`, type: "SRV", ttl: 120, data: { port: 18789, target: "gw.local" } }] }, { address: "192.168.1.40", port: 40000 })
      yield* TestClock.adjust("300 millis")
      const second = yield* w.next
      assert.deepStrictEqual(second.packet.questions?.map((q) => q.type), ["PTR", "SRV", "TXT"])
      yield* w.inject({
        type: "response",
        answers: [
          { name: `gw.${SERVICE_TYPE}`, type: "SRV", ttl: 120, data: { port: 18789, target: "gw.local" } },
          { name: `gw.${SERVICE_TYPE}`, type: "TXT", ttl: 4500, data: ["role=gateway", "lanHost=elsewhere.example"] },
          { name: "gw.local", type: "A", ttl: 120, data: "192.168.1.40" }
        ]
      }, { address: "192.168.1.40", port: 5353 })
      yield* TestClock.adjust("2 seconds")
      const found = yield* Fiber.join(fiber)
      assert.deepStrictEqual(found, [{
        name: "gw",
        host: "192.168.1.40",
        port: 18789,
        hostname: "gw.local",
        addresses: ["192.168.1.40"],
        txt: { role: "gateway", lanHost: "elsewhere.example" },
        source: "mdns"
      }])
    }))

  it.effect("fails with DiscoveryUnavailable when there is no LAN interface", () =>
    Effect.gen(function*() {
      const w = yield* memoryWire
      const d = yield* make(options(w.wire, { mode: "off", interfaces: () => [] }))
      const error = yield* Effect.flip(d.browse(1000))
      assert.strictEqual(error.reason._tag, "DiscoveryUnavailable")
    }))
})

describe("the gateway's default Discovery", () => {
  it.effect("is disabled by OPENCLAW_DISABLE_BONJOUR and inside a vitest worker, whatever the file says", () =>
    Effect.gen(function*() {
      const modeWith = (env: Record<string, string>) =>
        Discovery.useSync((d) => d.mode).pipe(Effect.provide(Gateway.layerDiscovery), Effect.provide(testConfigLayer({}, env)))
      const home = homeWithConfig({ discovery: { mdns: { mode: "full" } } })
      assert.strictEqual(yield* modeWith({ ...home, OPENCLAW_DISABLE_BONJOUR: "1" }), "disabled")
      assert.strictEqual(yield* modeWith({ ...home, OPENCLAW_DISABLE_BONJOUR: "0" }), "disabled")
    }))
})
