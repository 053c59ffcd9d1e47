import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import { GatewayRpcs } from "../../src/protocol/methods.ts"
import { ConnectionHub } from "../../src/services/ConnectionHub.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, TEST_TOKEN } from "../helpers/testGateway.ts"

const handshake = (params: Record<string, unknown> = connectParams()) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "1", method: "connect", params })
    const res = yield* c.next
    return { ...c, challenge, res }
  })

describe("handshake", () => {
  it.effect("sends connect.challenge with a nonce at once", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      const challenge = yield* c.next
      assert.strictEqual(challenge.type, "event")
      assert.strictEqual(challenge.event, "connect.challenge")
      assert.match(challenge.payload.nonce, /^[0-9a-f-]{36}$/)
      assert.strictEqual(typeof challenge.payload.ts, "number")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("closes a client that has not sent connect after exactly 10 s", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* TestClock.adjust("9999 millis")
      assert.isFalse(yield* Deferred.isDone(c.closed))
      yield* TestClock.adjust("1 millis")
      const closed = yield* Deferred.await(c.closed)
      assert.strictEqual(closed.code, 1000)
      assert.strictEqual(closed.reason, "handshake timeout")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("answers a v4 connect with hello-ok carrying only served methods", () =>
    Effect.gen(function*() {
      const { largeFramesAllowed, res } = yield* handshake()
      assert.strictEqual(res.ok, true)
      const hello = res.payload
      assert.strictEqual(hello.type, "hello-ok")
      assert.strictEqual(hello.protocol, 4)
      assert.deepStrictEqual(hello.features.methods, [...GatewayRpcs.requests.keys()])
      assert.includeMembers(hello.features.methods, ["health", "status", "device.pair.list", "device.pair.approve"])
      assert.notInclude(hello.features.methods, "chat.inject")
      assert.deepStrictEqual(hello.policy, { maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: 30000 })
      assert.deepStrictEqual(hello.auth, { method: "token", role: "operator", scopes: ["operator.read"] })
      assert.isTrue(largeFramesAllowed())
    }).pipe(Effect.provide(coreLayer())))

  it.effect("negotiates v3 for a v3-only client and v4 for a 3..4 client", () =>
    Effect.gen(function*() {
      const v3 = yield* handshake(connectParams({ minProtocol: 3, maxProtocol: 3 }))
      assert.strictEqual(v3.res.payload.protocol, 3)
      assert.isUndefined(v3.res.payload.features.capabilities)
      const both = yield* handshake(connectParams({ minProtocol: 3, maxProtocol: 4 }))
      assert.strictEqual(both.res.payload.protocol, 4)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("refuses a protocol range without 3 or 4 with close 1002", () =>
    Effect.gen(function*() {
      const { closed, res } = yield* handshake(connectParams({ minProtocol: 5, maxProtocol: 6 }))
      assert.strictEqual(res.ok, false)
      assert.strictEqual(res.error.code, "INVALID_REQUEST")
      assert.match(res.error.message, /^protocol mismatch/)
      assert.deepStrictEqual(res.error.details, { expectedProtocol: 4 })
      assert.deepStrictEqual(yield* Deferred.await(closed), { code: 1002, reason: "protocol mismatch" })
    }).pipe(Effect.provide(coreLayer())))

  it.effect("refuses a wrong token with AUTH_TOKEN_MISMATCH and close 1008", () =>
    Effect.gen(function*() {
      const { closed, res } = yield* handshake(connectParams({ auth: { token: "nope" } }))
      assert.strictEqual(res.error.code, "INVALID_REQUEST")
      assert.strictEqual(res.error.details.code, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual(res.error.details.recommendedNextStep, "update_auth_credentials")
      assert.match(res.error.message, /gatehouse config show/)
      assert.strictEqual((yield* Deferred.await(closed)).code, 1008)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("refuses a missing token with AUTH_TOKEN_MISSING, and a bare connect as OpenClaw does", () =>
    Effect.gen(function*() {
      const { closed, res } = yield* handshake(connectParams({ auth: { password: "not the mode" } }))
      assert.strictEqual(res.error.details.code, "AUTH_TOKEN_MISSING")
      assert.strictEqual((yield* Deferred.await(closed)).code, 1008)
      const bare = yield* handshake(connectParams({ auth: {} }))
      assert.strictEqual(bare.res.error.code, "NOT_PAIRED")
      assert.strictEqual(bare.res.error.details.code, "DEVICE_IDENTITY_REQUIRED")
      assert.include(bare.res.error.message, "--token")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("accepts the password in password mode and refuses a wrong one", () =>
    Effect.gen(function*() {
      const ok = yield* handshake(connectParams({ auth: { password: "correct horse battery" } }))
      assert.strictEqual(ok.res.payload.auth.method, "password")
      const bad = yield* handshake(connectParams({ auth: { password: "wrong" } }))
      assert.strictEqual(bad.res.error.details.code, "AUTH_PASSWORD_MISMATCH")
    }).pipe(Effect.provide(coreLayer({ auth: "password", password: Redacted.make("correct horse battery") }))))

  it.effect("refuses a first frame that is not connect, answering its id", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* c.push({ type: "req", id: "7", method: "health" })
      const res = yield* c.next
      assert.strictEqual(res.id, "7")
      assert.strictEqual(res.error.message, "invalid handshake: first request must be connect")
      assert.deepStrictEqual(yield* Deferred.await(c.closed), { code: 1008, reason: "invalid handshake" })
    }).pipe(Effect.provide(coreLayer())))

  it.effect("closes 1008 on a non-JSON first frame", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* c.pushText("hello?")
      assert.strictEqual((yield* Deferred.await(c.closed)).code, 1008)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("refuses connect params with unknown keys or wrong types", () =>
    Effect.gen(function*() {
      const extra = yield* handshake(connectParams({ sneaky: true }))
      assert.match(extra.res.error.message, /^invalid connect params: .*sneaky/)
      const wrong = yield* handshake(connectParams({ minProtocol: "4" }))
      assert.match(wrong.res.error.message, /^invalid connect params: .*minProtocol/)
      assert.strictEqual((yield* Deferred.await(wrong.closed)).code, 1008)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("closes 1009 on a pre-auth frame over 64 KiB", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* c.pushText(JSON.stringify({ type: "req", id: "1", method: "connect", params: { pad: "x".repeat(70 * 1024) } }))
      assert.strictEqual((yield* Deferred.await(c.closed)).code, 1009)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("refuses a browser origin that is not allowed before looking at credentials", () =>
    Effect.gen(function*() {
      const c = yield* openMemory({ headers: { origin: "https://evil.example" } })
      const closed = yield* Deferred.await(c.closed)
      assert.strictEqual(closed.code, 1008)
      assert.include(closed.reason, "CONTROL_UI_ORIGIN_NOT_ALLOWED")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("never treats an allowed browser page on loopback as the owner at the keyboard", () =>
    Effect.gen(function*() {
      // Same token and loopback socket as the CLI, which gets the scopes it asks for without a device.
      const c = yield* openMemory({ headers: { origin: "https://ui.example" } })
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ scopes: ["operator.admin"] }) })
      const res = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(res.ok, true, JSON.stringify(res.error))
      assert.deepStrictEqual(res.payload.auth.scopes, [])
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { controlUi: { allowedOrigins: ["https://ui.example"] } } })))))

  it.effect("refuses a node role without a device identity", () =>
    Effect.gen(function*() {
      const { res } = yield* handshake(connectParams({ role: "node", client: { id: "node-host", version: "1", platform: "linux", mode: "node" } }))
      assert.strictEqual(res.error.code, "NOT_PAIRED")
      assert.strictEqual(res.error.details.code, "DEVICE_IDENTITY_REQUIRED")
    }).pipe(Effect.provide(coreLayer())))
})

describe("after the handshake", () => {
  it.effect("serves a request without params", () =>
    Effect.gen(function*() {
      const c = yield* handshake()
      yield* c.push({ type: "req", id: "2", method: "health" })
      const res = yield* c.nextMatching((f) => f.type === "res")
      assert.strictEqual(res.id, "2")
      assert.strictEqual(res.ok, true)
      assert.strictEqual(res.payload.ok, true)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("answers unknown methods, bad frames and a second connect with errors and keeps serving", () =>
    Effect.gen(function*() {
      const c = yield* handshake()
      const ask = (frame: unknown) => Effect.andThen(c.push(frame), c.nextMatching((f) => f.type === "res"))
      const unknown = yield* ask({ type: "req", id: "a", method: "no.such.method" })
      assert.strictEqual(unknown.error.code, "INVALID_REQUEST")
      assert.match(unknown.error.message, /^unknown method: no.such.method/)
      const extra = yield* ask({ type: "req", id: "b", method: "health", extra: 1 })
      assert.strictEqual(extra.id, "b")
      assert.match(extra.error.message, /^invalid request frame/)
      const wrongType = yield* ask({ type: "req", id: "c", method: "health", params: { probe: "yes" } })
      assert.match(wrongType.error.message, /^invalid health params/)
      const again = yield* ask({ type: "req", id: "d", method: "connect", params: connectParams() })
      assert.strictEqual(again.error.message, "connect is only valid as the first request")
      yield* c.pushText("not json")
      const garbage = yield* c.nextMatching((f) => f.type === "res")
      assert.strictEqual(garbage.id, "invalid")
      const ok = yield* ask({ type: "req", id: "e", method: "last-heartbeat", params: {} })
      assert.deepStrictEqual(ok, { type: "res", id: "e", ok: true, payload: null })
      assert.isFalse(yield* Deferred.isDone(c.closed))
    }).pipe(Effect.provide(coreLayer())))

  it.effect("grants only the scopes asked for and enforces them per method", () =>
    Effect.gen(function*() {
      const c = yield* handshake(connectParams({ scopes: [] }))
      assert.deepStrictEqual(c.res.payload.auth.scopes, [])
      yield* c.push({ type: "req", id: "s", method: "status" })
      const res = yield* c.nextMatching((f) => f.type === "res")
      assert.strictEqual(res.error.code, "FORBIDDEN")
      assert.deepStrictEqual(res.error.details, { code: "MISSING_SCOPE", missingScope: "operator.read", requiredScopes: ["operator.read"] })
      yield* c.push({ type: "req", id: "h", method: "health" })
      assert.strictEqual((yield* c.nextMatching((f) => f.type === "res")).ok, true)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("ticks every 30 s with a per-connection seq", () =>
    Effect.gen(function*() {
      const c = yield* handshake()
      yield* c.push({ type: "req", id: "sync", method: "health" })
      yield* c.nextMatching((f) => f.id === "sync")
      yield* TestClock.adjust("29999 millis")
      yield* TestClock.adjust("1 millis")
      const first = yield* c.nextMatching((f) => f.event === "tick")
      assert.strictEqual(first.payload.ts, 30_000)
      yield* TestClock.adjust("30 seconds")
      const seen = [first]
      while (seen.filter((f) => f.event === "tick").length < 2) seen.push(yield* c.next)
      const second = seen[seen.length - 1]!
      assert.strictEqual(second.payload.ts - first.payload.ts, 30_000)
      assert.deepStrictEqual(seen.map((f) => f.seq), seen.map((_, i) => first.seq + i))
    }).pipe(Effect.provide(coreLayer())))

  it.effect("drops droppable events for a slow consumer and closes it 1008 for the rest", () =>
    Effect.gen(function*() {
      const c = yield* handshake()
      yield* c.push({ type: "req", id: "sync", method: "health" })
      yield* c.nextMatching((f) => f.id === "sync")
      const hub = yield* ConnectionHub
      c.setBuffered(51 * 1024 * 1024)
      yield* hub.broadcast("tick", { ts: 1 }, { dropIfSlow: true })
      assert.isFalse(yield* Deferred.isDone(c.closed))
      c.setBuffered(0)
      yield* hub.broadcast("marker", {})
      assert.strictEqual((yield* c.next).event, "marker")
      c.setBuffered(51 * 1024 * 1024)
      yield* hub.broadcast("shutdown", { reason: "x" })
      assert.deepStrictEqual(yield* Deferred.await(c.closed), { code: 1008, reason: "slow consumer" })
    }).pipe(Effect.provide(coreLayer())))

  it.effect("tells connected clients about presence changes", () =>
    Effect.gen(function*() {
      const watcher = yield* handshake(connectParams({ client: { id: "openclaw-tui", version: "1", platform: "linux", mode: "ui" } }))
      yield* watcher.push({ type: "req", id: "sync", method: "health" })
      yield* watcher.nextMatching((f) => f.id === "sync")
      const app = yield* handshake(connectParams({ client: { id: "openclaw-macos", version: "2", platform: "macos", mode: "ui", displayName: "laptop" } }))
      // Presence lists go out at most once per 250 ms: the watcher's own arrival just sent one.
      yield* TestClock.adjust("250 millis")
      const hosts = (f: Record<string, any>): Array<string> => f.payload.presence.map((p: { host: string }) => p.host)
      const joined = yield* watcher.nextMatching((f) => f.event === "presence" && hosts(f).includes("laptop"))
      yield* app.disconnect
      yield* TestClock.adjust("250 millis")
      const left = yield* watcher.nextMatching((f) => f.event === "presence" && f.stateVersion.presence > joined.stateVersion.presence)
      assert.notInclude(left.payload.presence.map((p: { host: string }) => p.host), "laptop")
      assert.isAbove(left.stateVersion.presence, joined.stateVersion.presence)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("redacts secrets in config.get", () =>
    Effect.gen(function*() {
      const c = yield* handshake(connectParams({ scopes: ["operator.read"] }))
      yield* c.push({ type: "req", id: "g", method: "config.get" })
      const res = yield* c.nextMatching((f) => f.type === "res")
      assert.strictEqual(res.ok, true)
      assert.notInclude(JSON.stringify(res), TEST_TOKEN)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("ends the session when the client goes away", () =>
    Effect.gen(function*() {
      const c = yield* handshake()
      yield* c.disconnect
      yield* Fiber.join(c.fiber)
    }).pipe(Effect.provide(coreLayer())))
})
