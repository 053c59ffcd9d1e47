import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const withLimits = (limits: Record<string, number>) => coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], limits } }))

// A connection from `address` (through the trusted loopback proxy), after its connect was answered.
const session = (address: string | undefined, params: unknown | ((challenge: { nonce: string; ts: number }) => unknown) = connectParams()) =>
  Effect.gen(function*() {
    const c = yield* openMemory(address === undefined ? {} : { headers: { "x-forwarded-for": address } })
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: typeof params === "function" ? params(challenge.payload) : params })
    const res = yield* c.nextMatching((f) => f.id === "c")
    return { ...c, res }
  })

const call = (c: { push: (f: unknown) => Effect.Effect<void>; nextMatching: (p: (f: Record<string, any>) => boolean) => Effect.Effect<Record<string, any>> }, id: string, method: string, params: unknown = {}) =>
  Effect.andThen(c.push({ type: "req", id, method, params }), c.nextMatching((f) => f.id === id))

describe("authenticated socket budgets", () => {
  it.effect("a client cannot hold more sockets than maxConnectionsPerAddress: the excess connect is refused and closed, the others keep working", () =>
    Effect.gen(function*() {
      const held = []
      // The same client in three spellings (one IPv6 /64).
      for (const address of ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:a:b:c:d"]) {
        const s = yield* session(address)
        assert.strictEqual(s.res.ok, true)
        held.push(s)
      }
      const excess = yield* session("2001:db8:5:6::99")
      assert.strictEqual(excess.res.ok, false)
      assert.strictEqual(excess.res.error.code, "UNAVAILABLE")
      assert.deepStrictEqual(excess.res.error.details, { code: "CONNECTION_LIMIT", budget: "address", limit: 3 })
      assert.include(excess.res.error.message, "gateway.limits.maxConnectionsPerAddress")
      const closed = yield* Deferred.await(excess.closed)
      assert.strictEqual(closed.code, 1008)
      assert.include(closed.reason, "CONNECTION_LIMIT")
      // The held sessions still answer, another client is not affected, and a closed socket gives its share back.
      assert.strictEqual((yield* call(held[0]!, "h", "health")).ok, true)
      assert.strictEqual((yield* session("2001:db8:5:7::1")).res.ok, true)
      yield* held[2]!.disconnect
      yield* Effect.yieldNow
      assert.strictEqual((yield* session("2001:db8:5:6::100")).res.ok, true)
    }).pipe(Effect.provide(withLimits({ maxConnectionsPerAddress: 3 }))))

  it.effect("a device cannot hold more sockets than maxConnectionsPerDevice, whatever address it comes from", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const sign = (challenge: { nonce: string; ts: number }) => signedConnect(device, challenge, { auth: { token: TEST_TOKEN } })
      assert.strictEqual((yield* session(undefined, sign)).res.ok, true)
      assert.strictEqual((yield* session(undefined, sign)).res.ok, true)
      const third = yield* session("198.51.100.8", sign)
      assert.strictEqual(third.res.ok, false)
      assert.deepStrictEqual(third.res.error.details, { code: "CONNECTION_LIMIT", budget: "device", limit: 2 })
      assert.strictEqual((yield* Deferred.await(third.closed)).code, 1008)
    }).pipe(Effect.provide(withLimits({ maxConnectionsPerDevice: 2 }))))

  it.effect("loopback (the host's own node hosts and CLIs) is bounded by the listener, not the per-address budget", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* session(undefined)).res.ok, true)
    }).pipe(Effect.provide(withLimits({ maxConnectionsPerAddress: 2 }))))
})

describe("gateway.limits in the config", () => {
  const refused = (limits: unknown) => Effect.flip(GatewayConfig.make({}, homeWithConfig({ gateway: { limits } })))
  it.effect("refuses zero, negative, fractional and self-contradicting budgets at start, naming the key", () =>
    Effect.gen(function*() {
      for (const bad of [{ maxConnectionsPerAddress: 0 }, { maxConnectionsPerDevice: -1 }, { maxPendingPairings: 1.5 }, { maxSubscribedNodes: "many" }]) {
        const error = yield* refused(bad)
        assert.include(error.message, Object.keys(bad)[0]!)
      }
      assert.include((yield* refused({ maxInFlightBytesPerConnection: 1024 })).message, "at least 26214400")
      assert.include((yield* refused({ maxInFlightBytesPerConnection: 40_000_000, maxInFlightBytesPerAddress: 30_000_000 })).message, "maxInFlightBytesPerAddress")
      assert.include((yield* refused({ maxPendingPairings: 4, maxPendingPairingsPerAddress: 5 })).message, "maxPendingPairingsPerAddress")
      const { config } = yield* GatewayConfig.make({}, homeWithConfig({ gateway: { limits: { maxConnectionsPerDevice: 3 } } }))
      assert.strictEqual(config.limits.maxConnectionsPerDevice, 3)
      assert.strictEqual(config.limits.maxConnectionsPerAddress, 128)
    }))
})

describe("frame size by what the connection may do", () => {
  it.effect("an operator without scopes keeps the 64 KiB pre-auth frame limit (and is told so); scoped operators and nodes get 25 MiB", () =>
    Effect.gen(function*() {
      const none = yield* session(undefined, connectParams({ scopes: [] }))
      assert.strictEqual(none.res.payload.policy.maxPayload, 65536)
      assert.isFalse(none.largeFramesAllowed())
      const scoped = yield* session(undefined)
      assert.strictEqual(scoped.res.payload.policy.maxPayload, 26214400)
      assert.isTrue(scoped.largeFramesAllowed())
      const node = yield* session(undefined, (challenge: { nonce: string; ts: number }) => signedConnect(newDevice(), challenge, { role: "node", auth: { token: TEST_TOKEN } }))
      assert.strictEqual(node.res.ok, true)
      assert.isTrue(node.largeFramesAllowed())
    }).pipe(Effect.provide(coreLayer())))

  it.effect("over a real socket, a scope-less operator's 100 KiB frame closes it with 1009 while a scoped operator's is served", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const open = (scopes: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const c = yield* openWs(url)
          yield* c.next
          yield* c.send({ type: "req", id: "c", method: "connect", params: connectParams({ scopes }) })
          assert.strictEqual((yield* c.nextMatching((f) => f.id === "c")).ok, true)
          return c
        })
      const big = JSON.stringify({ type: "req", id: "big", method: "health", params: { pad: "x".repeat(100 * 1024) } })
      const bare = yield* open([])
      yield* bare.sendText(big)
      assert.strictEqual((yield* bare.closed).code, 1009)
      const reader = yield* open(["operator.read"])
      yield* reader.sendText(big)
      const answer = yield* reader.nextMatching((f) => f.id === "big")
      assert.strictEqual(answer.type, "res")
    }).pipe(Effect.provide(serverLayer()))), 30_000)
})

describe("per-connection request rates", () => {
  it.effect("a connection that floods an expensive method is told RATE_LIMITED with a retry time; the bucket refills with time; other connections are untouched", () =>
    Effect.gen(function*() {
      const flooder = yield* session(undefined)
      for (let i = 0; i < 20; i++) assert.strictEqual((yield* call(flooder, `h${i}`, "status")).ok, true, `status ${i}`)
      const limited = yield* call(flooder, "h20", "status")
      assert.strictEqual(limited.ok, false)
      assert.strictEqual(limited.error.code, "UNAVAILABLE")
      assert.strictEqual(limited.error.details.code, "RATE_LIMITED")
      assert.strictEqual(limited.error.retryAfterMs, 200)
      assert.isTrue(limited.error.retryable)
      // Cheap methods (health included) are never throttled; another connection has its own bucket.
      assert.strictEqual((yield* call(flooder, "id", "gateway.identity.get")).ok, true)
      assert.strictEqual((yield* call(flooder, "hl", "health")).ok, true)
      const other = yield* session(undefined)
      assert.strictEqual((yield* call(other, "o", "status")).ok, true)
      yield* TestClock.adjust("200 millis")
      assert.strictEqual((yield* call(flooder, "h21", "status")).ok, true)
      assert.strictEqual((yield* call(flooder, "h22", "status")).error.details.code, "RATE_LIMITED")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("pairing writes are limited per connection (5 per second after a burst of 50)", () =>
    Effect.gen(function*() {
      const admin = yield* session(undefined, connectParams({ scopes: ["operator.admin"] }))
      for (let i = 0; i < 50; i++) {
        const res = yield* call(admin, `r${i}`, i % 2 === 0 ? "device.pair.reject" : "device.token.revoke", i % 2 === 0 ? { requestId: `nope-${i}` } : { deviceId: `nope-${i}`, role: "operator" })
        assert.notStrictEqual(res.error?.details?.code, "RATE_LIMITED")
      }
      const limited = yield* call(admin, "r50", "device.pair.reject", { requestId: "nope-50" })
      assert.strictEqual(limited.error.details.code, "RATE_LIMITED")
      assert.strictEqual(limited.error.retryAfterMs, 200)
    }).pipe(Effect.provide(coreLayer())))
})

describe("pending pairing requests at the handshake", () => {
  it.effect("a client flooding pairing requests with fresh device keys is refused with PAIRING_LIMIT and closed; others can still ask", () =>
    Effect.gen(function*() {
      const ask = (address: string) => session(address, (challenge: { nonce: string; ts: number }) => signedConnect(newDevice(), challenge, { auth: { token: TEST_TOKEN } }))
      for (const address of ["203.0.113.60", "::ffff:203.0.113.60"]) assert.strictEqual((yield* ask(address)).res.error.details.code, "PAIRING_REQUIRED")
      const flood = yield* ask("203.0.113.60")
      assert.strictEqual(flood.res.error.code, "UNAVAILABLE")
      assert.strictEqual(flood.res.error.details.code, "PAIRING_LIMIT")
      assert.include(flood.res.error.message, "from this address")
      assert.strictEqual((yield* Deferred.await(flood.closed)).code, 1008)
      assert.strictEqual((yield* ask("198.51.100.61")).res.error.details.code, "PAIRING_REQUIRED")
      const full = yield* ask("198.51.100.62")
      assert.strictEqual(full.res.error.details.code, "PAIRING_LIMIT")
      assert.include(full.res.error.message, "at most 3")
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }), {
      pairingStores: PairingStoreMemory.layer(undefined, undefined, { total: 3, perAddress: 2 })
    }))))
})

describe("event subscriptions", () => {
  it.effect("node.events.subscribe names at most maxSubscribedNodes distinct nodes; more is refused and the old subscription stays", () =>
    Effect.gen(function*() {
      const c = yield* session(undefined)
      const ids = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`)
      assert.strictEqual((yield* call(c, "ok", "node.events.subscribe", { nodeIds: [...ids(4), ...ids(4)] })).ok, true)
      const refused = yield* call(c, "big", "node.events.subscribe", { nodeIds: ids(5) })
      assert.strictEqual(refused.ok, false)
      assert.deepStrictEqual(refused.error.details, { code: "SUBSCRIPTION_LIMIT", limit: 4 })
      assert.include(refused.error.message, "omit nodeIds")
      assert.strictEqual((yield* call(c, "all", "node.events.subscribe", {})).ok, true)
    }).pipe(Effect.provide(withLimits({ maxSubscribedNodes: 4 }))))
})

describe("bytes held by dispatched requests", () => {
  it.effect("each answered request gives its bytes back, so a connection under its budget is never refused", () =>
    Effect.gen(function*() {
      const c = yield* session(undefined)
      // Each frame is about 9 MiB against the smallest budget allowed (25 MiB): three unanswered would not fit.
      const pad = "x".repeat(9 * 1024 * 1024)
      for (let i = 0; i < 5; i++) {
        const res = yield* call(c, `p${i}`, "status", { pad })
        assert.notStrictEqual(res.error?.details?.code, "IN_FLIGHT_LIMIT", `request ${i}`)
      }
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { auth: { token: TEST_TOKEN }, limits: { maxInFlightBytesPerConnection: 25 * 1024 * 1024 } } })))))
})
