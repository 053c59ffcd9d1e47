import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { connectDevice, newDevice } from "../helpers/device.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const REMOTE = { "x-forwarded-for": "203.0.113.7" }
const ALL = ["operator.admin", "operator.pairing", "operator.read", "operator.write"]

const operator = (url: string, scopes: ReadonlyArray<string> = ALL) =>
  Effect.gen(function*() {
    const c = yield* openWs(url)
    yield* c.nextMatching((f) => f.event === "connect.challenge")
    yield* c.send({
      type: "req",
      id: "op",
      method: "connect",
      params: { minProtocol: 4, maxProtocol: 4, client: { id: "openclaw-tui", version: "t", platform: "linux", mode: "ui" }, auth: { token: TEST_TOKEN }, scopes }
    })
    const hello = yield* c.nextMatching((f) => f.id === "op")
    assert.strictEqual(hello.ok, true, JSON.stringify(hello.error))
    let n = 0
    const call = (method: string, params: unknown = {}) =>
      Effect.gen(function*() {
        const id = `call-${n++}`
        yield* c.send({ type: "req", id, method, params })
        return yield* c.nextMatching((f) => f.id === id)
      })
    return { ...c, call }
  })

layer(serverLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } })))("device pairing over WebSocket", (it) => {
  it.effect("a remote device waits for approval, an operator approves it, and it reconnects with its token", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const watcher = yield* operator(url)
      const device = newDevice()

      const first = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* openWs(url, REMOTE)
        const res = yield* connectDevice(c, device, { auth: { token: TEST_TOKEN } })
        return { res, closed: yield* c.closed }
      }))
      assert.strictEqual(first.res.error.code, "NOT_PAIRED")
      assert.strictEqual(first.res.error.details.code, "PAIRING_REQUIRED")
      assert.strictEqual(first.res.error.details.reason, "not-paired")
      const requestId = first.res.error.details.requestId as string
      assert.include(first.res.error.message, `gatehouse devices approve ${requestId}`)
      assert.deepStrictEqual(first.closed, { code: 1008, reason: "pairing required" })

      const requested = yield* watcher.nextMatching((f) => f.event === "device.pair.requested")
      assert.strictEqual(requested.payload.requestId, requestId)
      assert.strictEqual(requested.payload.remoteIp, "203.0.113.7")

      const retry = yield* Effect.scoped(Effect.flatMap(openWs(url, REMOTE), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))
      assert.strictEqual(retry.error.details.requestId, requestId)

      const listed = yield* watcher.call("device.pair.list")
      assert.deepStrictEqual(listed.payload.pending.map((p: { requestId: string }) => p.requestId), [requestId])

      const approved = yield* watcher.call("device.pair.approve", { requestId })
      assert.strictEqual(approved.ok, true, JSON.stringify(approved.error))
      assert.notInclude(JSON.stringify(approved), "\"token\":")
      const resolved = yield* watcher.nextMatching((f) => f.event === "device.pair.resolved")
      assert.deepInclude(resolved.payload, { requestId, decision: "approved", deviceId: device.deviceId })

      const paired = yield* Effect.scoped(Effect.flatMap(openWs(url, REMOTE), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))
      assert.strictEqual(paired.ok, true)
      const deviceToken = paired.payload.auth.deviceToken as string
      assert.match(deviceToken, /^[A-Za-z0-9_-]{43}$/)

      const live = yield* openWs(url, REMOTE)
      const byToken = yield* connectDevice(live, device, { auth: { deviceToken } })
      assert.strictEqual(byToken.ok, true)
      assert.strictEqual(byToken.payload.auth.method, "device-token")
      assert.deepStrictEqual(byToken.payload.auth.scopes, ["operator.read"])

      const revoked = yield* watcher.call("device.token.revoke", { deviceId: device.deviceId, role: "operator" })
      assert.strictEqual(revoked.ok, true)
      const closed = yield* live.closed.pipe(Effect.timeout("1 second"))
      assert.strictEqual(closed.code, 4001)

      const after = yield* Effect.scoped(Effect.flatMap(openWs(url, REMOTE), (c) => connectDevice(c, device, { auth: { deviceToken } })))
      assert.strictEqual(after.error.details.code, "AUTH_DEVICE_TOKEN_MISMATCH")
    })))

  it.effect("a device asking for more scopes than approved waits, even on loopback, and cannot approve itself", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const device = newDevice()
      const local = yield* Effect.scoped(Effect.flatMap(openWs(url), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN }, scopes: ["operator.read", "operator.pairing"] })))
      assert.strictEqual(local.ok, true, "direct loopback pairs silently")
      const upgrade = yield* Effect.scoped(Effect.flatMap(openWs(url), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN }, scopes: ["operator.admin"] })))
      assert.strictEqual(upgrade.error.details.reason, "scope-upgrade")
      const requestId = upgrade.error.details.requestId as string

      const self = yield* openWs(url)
      const hello = yield* connectDevice(self, device, { auth: { token: TEST_TOKEN }, scopes: ["operator.read", "operator.pairing"] })
      assert.strictEqual(hello.ok, true)
      yield* self.send({ type: "req", id: "a", method: "device.pair.approve", params: { requestId } })
      const denied = yield* self.nextMatching((f) => f.id === "a")
      assert.strictEqual(denied.error.details.code, "SELF_APPROVAL_DENIED")
      assert.include(denied.error.message, `gatehouse devices approve ${requestId}`)
    })))

  it.effect("metadata changes of a paired device wait for approval", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const device = newDevice()
      assert.isTrue((yield* Effect.scoped(Effect.flatMap(openWs(url), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))).ok)
      const moved = yield* Effect.scoped(Effect.flatMap(openWs(url), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN }, client: { platform: "windows" } })))
      assert.strictEqual(moved.error.details.reason, "metadata-upgrade")
    })))

  it.effect("a remote client without a device identity gets no scopes beyond health", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url, REMOTE)
      yield* c.next
      yield* c.send({ type: "req", id: "c", method: "connect", params: { minProtocol: 4, maxProtocol: 4, client: { id: "cli", version: "t", platform: "linux", mode: "cli" }, auth: { token: TEST_TOKEN }, scopes: ["operator.admin"] } })
      const hello = yield* c.nextMatching((f) => f.id === "c")
      assert.deepStrictEqual(hello.payload.auth.scopes, [])
      assert.deepStrictEqual(hello.payload.snapshot.presence, [], "presence names clients: not for a client without operator.read")
      // How loaded the host is (event-loop delay, CPU) is not for a client without operator.read either.
      assert.notProperty(hello.payload.snapshot.health, "eventLoop")
      yield* c.send({ type: "req", id: "h", method: "health" })
      const health = yield* c.nextMatching((f) => f.id === "h")
      assert.isTrue(health.ok)
      assert.notProperty(health.payload, "eventLoop")
      const reader = yield* operator(url, ["operator.read"])
      assert.property((yield* reader.call("health")).payload, "eventLoop")
      yield* c.send({ type: "req", id: "s", method: "config.get" })
      assert.strictEqual((yield* c.nextMatching((f) => f.id === "s")).error.code, "FORBIDDEN")
    })))

  it.effect("never rotates a token beyond the caller's scopes or the device's approval", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const device = newDevice()
      assert.isTrue((yield* Effect.scoped(Effect.flatMap(openWs(url), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))).ok)
      const pairer = yield* operator(url, ["operator.pairing", "operator.read"])
      const escalate = yield* pairer.call("device.token.rotate", { deviceId: device.deviceId, role: "operator", scopes: ["operator.admin"] })
      assert.include(escalate.error.message, "device token rotation denied")
      const admin = yield* operator(url)
      const beyondApproval = yield* admin.call("device.token.rotate", { deviceId: device.deviceId, role: "operator", scopes: ["operator.write"] })
      assert.include(beyondApproval.error.message, "not approved for this device")
      const ok = yield* admin.call("device.token.rotate", { deviceId: device.deviceId, role: "operator" })
      assert.strictEqual(ok.ok, true)
      assert.isUndefined(ok.payload.token, "the new bearer is only echoed to the device itself")
    })))

  it.effect("a setup code pairs exactly one of thirty devices racing for it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const admin = yield* operator(url)
      const created = yield* admin.call("device.bootstrap.create", { role: "node" })
      const bootstrapToken = created.payload.bootstrapToken as string
      assert.notInclude(JSON.stringify(created.payload), TEST_TOKEN)
      // Thirty at once: one loopback peer may hold at most 32 unauthenticated sockets.
      const results = yield* Effect.all(
        Array.from({ length: 30 }, (_, i) =>
          Effect.scoped(Effect.flatMap(openWs(url, { "x-forwarded-for": `198.18.0.${i + 1}` }), (c) =>
            connectDevice(c, newDevice(), { role: "node", auth: { bootstrapToken } })))),
        { concurrency: "unbounded" }
      )
      const ok = results.filter((r) => r.ok)
      assert.lengthOf(ok, 1)
      assert.strictEqual(ok[0]!.payload.auth.method, "bootstrap-token")
      assert.isString(ok[0]!.payload.auth.deviceToken)
      for (const r of results.filter((r) => !r.ok)) assert.strictEqual(r.error.details.code, "AUTH_BOOTSTRAP_TOKEN_INVALID")
    })))
})
