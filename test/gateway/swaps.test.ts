import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Ref from "effect/Ref"
import * as References from "effect/References"
import {
  AuthLive,
  AuthStatic,
  ChannelRunner,
  ConnectionHub,
  ConnectionHubLive,
  Discovery,
  GatewayServer,
  ListenerMemory,
  NodeRegistry,
  NodeRegistryLive,
  PairingStore,
  PairingStoreError,
  PairingStoreMemory,
  PairingUnavailable,
  RateLimiter
} from "../../src/index.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { connectParams, coreLayer, openMemory } from "../helpers/testGateway.ts"

const connect = (params: Record<string, unknown>) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params })
    return { ...c, res: yield* c.nextMatching((f) => f.id === "c") }
  })

const call = (c: { push: (f: unknown) => Effect.Effect<void>; nextMatching: (p: (f: Record<string, any>) => boolean) => Effect.Effect<Record<string, any>> }, id: string, method: string, params: unknown = {}) =>
  Effect.andThen(c.push({ type: "req", id, method, params }), c.nextMatching((f) => f.type === "res" && f.id === id))

describe("swapping a service in a real gateway", () => {
  it.effect("Auth: an embedder's Auth admits its own principal and refuses the gateway token", () =>
    Effect.gen(function*() {
      const kiosk = yield* connect(connectParams({ auth: { token: "kiosk-secret" } }))
      assert.strictEqual(kiosk.res.ok, true)
      assert.deepStrictEqual(kiosk.res.payload.auth.scopes, ["operator.read"])
      assert.strictEqual((yield* call(kiosk, "status", "status")).ok, true)
      assert.strictEqual((yield* call(kiosk, "p", "device.pair.list")).error.details.code, "MISSING_SCOPE")
      const usual = yield* connect(connectParams())
      assert.strictEqual(usual.res.ok, false)
      assert.strictEqual(usual.res.error.details.code, "AUTH_TOKEN_MISMATCH")
    }).pipe(Effect.provide(coreLayer({}, undefined, {
      auth: AuthStatic.layer(new Map([["kiosk-secret", { method: "token", role: "operator", scopes: ["operator.read"] } as const]]))
    }))))

  it.effect("RateLimiter: an embedder's limiter sees every failed credential and its lockout is enforced", () =>
    Effect.gen(function*() {
      const failures = yield* Ref.make<ReadonlyArray<string>>([])
      const limiter = Layer.succeed(RateLimiter, RateLimiter.of({
        check: () => Effect.map(Ref.get(failures), (f) => (f.length > 0 ? { _tag: "Refuse", retryAfterMs: 42_000 } as const : { _tag: "Allow" } as const)),
        fail: (address, reason) => Ref.update(failures, (f) => [...f, `${address} ${reason}`]),
        succeed: () => Effect.void
      }))
      yield* Effect.gen(function*() {
        const bad = yield* connect(connectParams({ auth: { token: "wrong" } }))
        assert.strictEqual(bad.res.error.details.code, "AUTH_TOKEN_MISMATCH")
        const good = yield* connect(connectParams())
        assert.strictEqual(good.res.error.details.code, "AUTH_RATE_LIMITED")
        assert.strictEqual(good.res.error.retryAfterMs, 42_000)
      }).pipe(Effect.provide(coreLayer({}, undefined, { rateLimiter: limiter })))
      assert.deepStrictEqual(yield* Ref.get(failures), ["127.0.0.1 token_mismatch"])
    }))

  it.effect("PairingStore: a store handed in with an approved device is the one the gateway admits from", () =>
    Effect.gen(function*() {
      const store = yield* PairingStore
      const code = yield* store.createSetupCode("operator", ["operator.read"])
      const c = yield* openMemory({ remoteAddress: "192.0.2.7" })
      const challenge = yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(newDevice(), challenge.payload, { auth: { bootstrapToken: code.token } }) })
      const res = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(res.ok, true)
      assert.strictEqual((yield* store.list).paired.length, 1)
    }).pipe(Effect.provide(Layer.unwrap(Effect.sync(() => {
      const stores = PairingStoreMemory.layer()
      return coreLayer({}, undefined, { pairingStores: stores }).pipe(Layer.provideMerge(stores))
    })))))

  it.effect("ConnectionHub: a hub wrapping the live one sees every registration", () =>
    Effect.gen(function*() {
      const registered = yield* Ref.make<ReadonlyArray<string>>([])
      const counting = Layer.effect(ConnectionHub, Effect.gen(function*() {
        const live = yield* ConnectionHub
        return ConnectionHub.of({ ...live, register: (c) => Effect.andThen(Ref.update(registered, (r) => [...r, c.client.id]), live.register(c)) })
      })).pipe(Layer.provide(ConnectionHubLive.layer))
      yield* Effect.gen(function*() {
        const c = yield* connect(connectParams())
        assert.strictEqual(c.res.ok, true)
        assert.lengthOf(yield* (yield* ConnectionHub).connections, 1)
      }).pipe(Effect.provide(coreLayer({}, undefined, { connectionHub: counting })))
      assert.deepStrictEqual(yield* Ref.get(registered), ["cli"])
    }))

  it.effect("NodeRegistry: a registry handed in answers node.list", () =>
    Effect.gen(function*() {
      const c = yield* connect(connectParams({ scopes: ["operator.read"] }))
      const res = yield* call(c, "n", "node.list")
      assert.strictEqual(res.ok, true)
      assert.deepStrictEqual(res.payload.nodes.map((n: { nodeId: string }) => n.nodeId), ["fixture-node"])
    }).pipe(Effect.provide(coreLayer({}, undefined, {
      nodeRegistry: Layer.effect(NodeRegistry, Effect.gen(function*() {
        const live = yield* NodeRegistry
        return NodeRegistry.of({
          ...live,
          list: Effect.succeed([{
            nodeId: "fixture-node", displayName: undefined, platform: "linux", version: "1", caps: [], commands: [],
            approvedCommands: [], invokableCommands: [], connected: false, paired: true, remoteIp: undefined,
            connectedAtMs: undefined, pendingRequestId: undefined, reports: {}
          }])
        })
      })).pipe(Layer.provide(NodeRegistryLive.layer))
    }))))

  it.effect("Discovery and ChannelRunner: what they report is what status shows", () =>
    Effect.gen(function*() {
      const c = yield* connect(connectParams())
      const status = yield* call(c, "s", "status")
      assert.deepStrictEqual(status.payload.discovery, {
        mode: "fixture",
        advertised: [{ name: "gatehouse on box", host: "box.local", port: 18789 }],
        state: { phase: "advertising", interfaces: ["eth0"], conflicts: 0, restarts: 0 }
      })
      assert.deepStrictEqual(status.payload.channels, [{ id: "telegram", label: "Telegram", enabled: true, running: false, lastError: "401 Unauthorized" }])
    }).pipe(Effect.provide(coreLayer({}, undefined, {
      discovery: Layer.succeed(Discovery, Discovery.of({
        mode: "fixture",
        browse: () => Effect.succeed([]),
        advertised: Effect.succeed([{ name: "gatehouse on box", host: "box.local", port: 18789, txt: { role: "gateway" }, source: "mdns" }]),
        publish: () => Effect.void,
        state: Effect.succeed({ phase: "advertising", interfaces: ["eth0"], conflicts: 0, restarts: 0 })
      })),
      channelRunner: Layer.succeed(ChannelRunner, ChannelRunner.of({
        status: Effect.succeed([{ id: "telegram", label: "Telegram", enabled: true, running: false, lastError: "401 Unauthorized" }]),
        restart: () => Effect.void,
        send: () => Effect.die("not sent in this test")
      }))
    }))))

  it.effect("Listener: connections handed to an in-memory listener are served, and GatewayServer reports its address", () =>
    Effect.gen(function*() {
      const server = yield* GatewayServer
      assert.strictEqual(server.url, "memory://gateway")
      const c = yield* connect(connectParams())
      assert.strictEqual(c.res.ok, true)
      assert.strictEqual((yield* call(c, "h", "health")).ok, true)
    }).pipe(Effect.provide(coreLayer())))
})

describe("composition order", () => {
  it.effect("the listener is built after every service it serves, so nothing is accepted before they are up", () =>
    Effect.gen(function*() {
      const built: Array<string> = []
      const recording = <I, S>(name: string, layer: Layer.Layer<I, never, S>) =>
        Layer.effectDiscard(Effect.sync(() => void built.push(name))).pipe(Layer.provideMerge(layer))
      const memory = ListenerMemory.layer
      yield* Effect.gen(function*() {
        yield* GatewayServer
      }).pipe(Effect.provide(coreLayer({}, undefined, {
        pairingStores: recording("stores", PairingStoreMemory.layer()),
        nodeRegistry: recording("nodes", NodeRegistryLive.layer),
        auth: recording("auth", AuthLive.layer),
        listener: Layer.effectDiscard(Effect.sync(() => void built.push("listener"))).pipe(Layer.provideMerge(memory))
      })))
      assert.deepStrictEqual(built.indexOf("listener"), built.length - 1)
      assert.includeMembers(built, ["stores", "nodes", "auth", "listener"])
    }))
})

describe("a handler that dies", () => {
  it.effect("answers once with a correlation id, frees its request id, and the connection keeps serving", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const dies = yield* Ref.make(true)
      const registry = Layer.effect(NodeRegistry, Effect.gen(function*() {
        const live = yield* NodeRegistry
        return NodeRegistry.of({
          ...live,
          list: Effect.flatMap(Ref.getAndSet(dies, false), (die) => (die ? Effect.die(new Error("registry exploded")) : live.list))
        })
      })).pipe(Layer.provide(NodeRegistryLive.layer))
      yield* Effect.gen(function*() {
        const c = yield* connect(connectParams())
        const first = yield* call(c, "1", "node.list")
        assert.strictEqual(first.ok, false)
        assert.strictEqual(first.error.code, "UNAVAILABLE")
        assert.strictEqual(first.error.details.code, "INTERNAL")
        const correlationId = first.error.details.correlationId as string
        assert.match(correlationId, /^[0-9a-f-]{36}$/)
        assert.include(first.error.message, correlationId)
        const again = yield* call(c, "1", "node.list")
        assert.strictEqual(again.ok, true)
        assert.strictEqual((yield* call(c, "2", "health")).ok, true)
        assert.isTrue(logged.some((line) => line.includes(correlationId) && line.includes("registry exploded")))
      }).pipe(
        Effect.provide(coreLayer({}, undefined, { nodeRegistry: registry })),
        Effect.provide(Logger.layer([Logger.make(({ fiber, message }) => {
          logged.push(`${JSON.stringify(message)} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
        })]))
      )
    }))
})

describe("infrastructure failures on the wire", () => {
  it.effect("a pairing store that is down is reported without its detail, which goes to the log under the same correlation id", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const down = Layer.effect(PairingStore, Effect.gen(function*() {
        const live = yield* PairingStore
        return PairingStore.of({
          ...live,
          admit: () => Effect.fail(new PairingStoreError({ reason: new PairingUnavailable({ message: "PostgreSQL at postgres://gh:***@10.9.8.7:5432/pairing: connection refused" }) }))
        })
      })).pipe(Layer.provide(PairingStoreMemory.layer()))
      yield* Effect.gen(function*() {
        const c = yield* openMemory({ remoteAddress: "192.0.2.44" })
        const challenge = yield* c.next
        yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(newDevice(), challenge.payload, { auth: { token: "test-token-0123456789abcdef" } }) })
        const res = yield* c.nextMatching((f) => f.id === "c")
        assert.strictEqual(res.error.code, "UNAVAILABLE")
        assert.strictEqual(res.error.retryable, true)
        assert.notInclude(JSON.stringify(res), "10.9.8.7")
        assert.notInclude(JSON.stringify(res), "PostgreSQL")
        const correlationId = res.error.details.correlationId as string
        assert.include(res.error.message, correlationId)
        assert.isTrue(logged.some((line) => line.includes(correlationId) && line.includes("10.9.8.7")))
      }).pipe(
        Effect.provide(coreLayer({}, undefined, { pairingStores: Layer.merge(PairingStoreMemory.layer(), down) })),
        Effect.provide(Logger.layer([Logger.make(({ fiber, message }) => {
          logged.push(`${JSON.stringify(message)} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
        })]))
      )
    }))
})
