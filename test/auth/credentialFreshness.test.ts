import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { SELF_ROTATE_GRACE } from "../../src/layers/DevicePairingLive.ts"
import { reloadGateway, settle } from "../helpers/reloadGateway.ts"
import { newDevice, signedConnect, type ConnectOptions, type TestDevice } from "../helpers/device.ts"
import { connectParams, openMemory } from "../helpers/testGateway.ts"

const OLD = "old-secret-0123456789abcdef"
const NEW = "new-secret-0123456789abcdef"
const REMOTE = "198.51.100.23"

// A gateway whose token lives in its config file (no flag, no environment), so an edit rotates it.
const rotating = (logged: Array<string> = []) => reloadGateway({ gateway: { auth: { token: OLD } } }, logged, { token: undefined })

const rotate = (gw: ReturnType<typeof rotating>) =>
  Effect.andThen(Effect.sync(() => gw.write({ gateway: { auth: { token: NEW } } })), settle((l) => l.secretGeneration === 1))

// Opens a session: with a device when `device` is given (signed), else a plain shared-secret client.
const session = (auth: Record<string, string>, device?: TestDevice, o: ConnectOptions & { remote?: boolean } = {}) =>
  Effect.gen(function*() {
    const c = yield* openMemory(o.remote === true ? { remoteAddress: REMOTE } : {})
    const challenge = yield* c.next
    const params = device === undefined ? connectParams({ auth }) : signedConnect(device, challenge.payload, { auth, ...o })
    yield* c.push({ type: "req", id: "connect", method: "connect", params })
    const hello = yield* c.nextMatching((f) => f.id === "connect")
    let n = 0
    const call = (method: string, params: unknown = {}) =>
      Effect.gen(function*() {
        const id = `q${n++}`
        yield* c.push({ type: "req", id, method, params })
        return yield* c.nextMatching((f) => f.id === id)
      })
    return { ...c, hello, call }
  })

describe("credential freshness (attacks)", () => {
  it.effect("a user the trusted proxy vouched for is cut off when the config no longer allows them (their open session ends)", () => {
    const proxied = (allowUsers: ReadonlyArray<string>) => ({
      gateway: {
        trustedProxies: ["10.0.0.2"],
        auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user", requiredHeaders: ["x-forwarded-proto"], allowUsers } }
      }
    })
    const gw = reloadGateway(proxied(["alice@example.com"]), [], { token: undefined, auth: undefined })
    const asAlice = Effect.gen(function*() {
      const c = yield* openMemory({ remoteAddress: "10.0.0.2", headers: { "x-forwarded-proto": "https", "x-forwarded-user": "alice@example.com" } })
      yield* c.next
      yield* c.push({ type: "req", id: "connect", method: "connect", params: connectParams({ auth: {} }) })
      return { ...c, hello: yield* c.nextMatching((f) => f.id === "connect") }
    })
    return Effect.gen(function*() {
      const alice = yield* asAlice
      assert.strictEqual(alice.hello.ok, true, JSON.stringify(alice.hello.error))
      yield* Effect.sync(() => gw.write(proxied(["bob@example.com"])))
      yield* settle((l) => l.identityGeneration === 1)
      const closed = yield* Deferred.await(alice.closed)
      assert.strictEqual(closed.code, 4001)
      assert.isFalse((yield* asAlice).hello.ok)
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a session holding the old gateway token is closed when the token is rotated, and the old token no longer admits", () => {
    const gw = rotating()
    return Effect.gen(function*() {
      const stolen = yield* session({ token: OLD })
      assert.strictEqual(stolen.hello.ok, true)
      yield* rotate(gw)
      const closed = yield* Deferred.await(stolen.closed)
      assert.strictEqual(closed.code, 4001)
      assert.include(closed.reason, "rotated")
      const replay = yield* session({ token: OLD })
      assert.strictEqual(replay.hello.error.details.code, "AUTH_TOKEN_MISMATCH")
      const owner = yield* session({ token: NEW })
      assert.strictEqual(owner.hello.ok, true, "a session of the new token is not closed by the rotation it followed")
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("replacing the generated token file (no token in the config) is a rotation too", () => {
    const gw = reloadGateway({}, [], { token: undefined })
    return Effect.gen(function*() {
      const tokenFile = join(dirname(gw.configPath), "gateway.token")
      const generated = readFileSync(tokenFile, "utf8").trim()
      const held = yield* session({ token: generated })
      assert.strictEqual(held.hello.ok, true, JSON.stringify(held.hello.error))
      const { live } = yield* GatewayConfig
      const generation = (yield* SubscriptionRef.get(live)).secretGeneration
      writeFileSync(tokenFile, `${NEW}\n`, { mode: 0o600 })
      yield* settle((l) => l.secretGeneration === generation + 1)
      assert.strictEqual((yield* Deferred.await(held.closed)).code, 4001)
      assert.strictEqual((yield* session({ token: generated })).hello.error.details.code, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual((yield* session({ token: NEW })).hello.ok, true)
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a device token minted silently through the old token is revoked on rotation; an operator-approved device keeps its own", () => {
    const logged: Array<string> = []
    const gw = rotating(logged)
    return Effect.gen(function*() {
      // The attacker held the old token on loopback: the gateway paired their device silently.
      const attacker = newDevice()
      const minted = yield* session({ token: OLD }, attacker)
      const stolenDeviceToken = minted.hello.payload.auth.deviceToken as string
      assert.isString(stolenDeviceToken)
      // The owner's phone was approved by an operator.
      const phone = newDevice()
      const asked = yield* session({ token: OLD }, phone, { remote: true })
      const requestId = asked.hello.error.details.requestId as string
      const admin = yield* session({ token: OLD }, newDevice(), { scopes: ["operator.admin"] })
      assert.strictEqual((yield* admin.call("device.pair.approve", { requestId })).ok, true)
      const phoneHello = yield* session({ token: OLD }, phone, { remote: true })
      const phoneToken = phoneHello.hello.payload.auth.deviceToken as string

      yield* rotate(gw)
      const replay = yield* session({ deviceToken: stolenDeviceToken }, attacker)
      assert.strictEqual(replay.hello.ok, false)
      assert.strictEqual(replay.hello.error.details.code, "AUTH_DEVICE_TOKEN_MISMATCH")
      const kept = yield* session({ deviceToken: phoneToken }, phone, { remote: true })
      assert.strictEqual(kept.hello.ok, true, JSON.stringify(kept.hello.error))
      assert.isTrue(logged.some((l) => l.startsWith("gateway secret rotated: closed")), logged.join("\n"))
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a device token cannot yield more scopes than approved: asking for more opens a scope-upgrade request", () => {
    const gw = rotating()
    return Effect.gen(function*() {
      const device = newDevice()
      const paired = yield* session({ token: OLD }, device, { scopes: ["operator.read"] })
      const deviceToken = paired.hello.payload.auth.deviceToken as string
      const greedy = yield* session({ deviceToken }, device, { scopes: ["operator.admin"] })
      assert.strictEqual(greedy.hello.ok, false)
      assert.strictEqual(greedy.hello.error.details.reason, "scope-upgrade")
      const admin = yield* session({ token: OLD }, newDevice(), { scopes: ["operator.admin"] })
      const list = yield* admin.call("device.pair.list")
      assert.isTrue(list.payload.pending.some((p: { deviceId: string; reason: string }) => p.deviceId === device.deviceId && p.reason === "scope-upgrade"))
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a device token presented from another platform is a metadata upgrade waiting for approval", () => {
    const gw = rotating()
    return Effect.gen(function*() {
      const device = newDevice()
      const paired = yield* session({ token: OLD }, device)
      const deviceToken = paired.hello.payload.auth.deviceToken as string
      const moved = yield* session({ deviceToken }, device, { client: { platform: "windows", deviceFamily: "Windows" } })
      assert.strictEqual(moved.hello.ok, false)
      assert.strictEqual(moved.hello.error.details.reason, "metadata-upgrade")
      const same = yield* session({ deviceToken }, device)
      assert.strictEqual(same.hello.ok, true, "the approved platform still connects")
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a device rotating its own token receives the new token before its old session is closed", () => {
    const gw = rotating()
    return Effect.gen(function*() {
      const device = newDevice()
      const first = yield* session({ token: OLD }, device, { scopes: ["operator.read", "operator.pairing"] })
      const old = first.hello.payload.auth.deviceToken as string
      const byToken = yield* session({ deviceToken: old }, device, { scopes: ["operator.read", "operator.pairing"] })
      const rotated = yield* byToken.call("device.token.rotate", { deviceId: device.deviceId, role: "operator" })
      assert.strictEqual(rotated.ok, true, JSON.stringify(rotated.error))
      const fresh = rotated.payload.token as string
      assert.match(fresh, /^[A-Za-z0-9_-]{43}$/)
      assert.notStrictEqual(fresh, old)
      assert.isFalse(yield* Deferred.isDone(byToken.closed), "the answer came on a live session")
      yield* TestClock.adjust(SELF_ROTATE_GRACE)
      assert.strictEqual((yield* Deferred.await(byToken.closed)).code, 4001)
      assert.strictEqual((yield* session({ deviceToken: old }, device)).hello.error.details.code, "AUTH_DEVICE_TOKEN_MISMATCH")
      assert.strictEqual((yield* session({ deviceToken: fresh }, device)).hello.ok, true)
    }).pipe(Effect.provide(gw.layer))
  })
})
