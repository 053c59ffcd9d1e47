import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import { DevicePairing } from "../../src/services/DevicePairing.ts"
import { newDevice, signedConnect, type ConnectOptions, type TestDevice } from "../helpers/device.ts"
import { coreLayer, homeWithConfig, openMemory, TEST_TOKEN } from "../helpers/testGateway.ts"

const REMOTE = { remoteAddress: "127.0.0.1", headers: { "x-forwarded-for": "198.51.100.4" } }

const connectMemory = (device: TestDevice, o: ConnectOptions & { remote?: boolean } = {}) =>
  Effect.gen(function*() {
    const c = yield* openMemory(o.remote === false ? {} : REMOTE)
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, challenge.payload, o) })
    return yield* c.nextMatching((f) => f.id === "c")
  })

const trusted = () => coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }))

describe("pairing under TestClock", () => {
  it.effect("a pending request lives 5 minutes; approving it later points to `devices list`", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const res = yield* connectMemory(device, { auth: { token: TEST_TOKEN } })
      const requestId = res.error.details.requestId as string
      const pairing = yield* DevicePairing
      yield* TestClock.adjust("299 seconds")
      assert.lengthOf((yield* pairing.list).pending, 1)
      yield* TestClock.adjust("1 second")
      assert.lengthOf((yield* pairing.list).pending, 0)
      const late = yield* Effect.flip(pairing.approve(requestId, { scopes: ["operator.admin"], deviceId: undefined }))
      assert.strictEqual(late.reason._tag, "PairingRefused")
      assert.include(late.reason._tag === "PairingRefused" ? late.reason.message : "", "gatehouse devices list")
    }).pipe(Effect.provide(trusted())))

  it.effect("a setup code stops working after 10 minutes", () =>
    Effect.gen(function*() {
      const pairing = yield* DevicePairing
      const early = yield* pairing.createSetupCode("node", [])
      const late = yield* pairing.createSetupCode("node", [])
      const first = yield* connectMemory(newDevice(), { role: "node", auth: { bootstrapToken: early.token } })
      assert.strictEqual(first.ok, true)
      yield* TestClock.adjust("10 minutes")
      const second = yield* connectMemory(newDevice(), { role: "node", auth: { bootstrapToken: late.token } })
      assert.strictEqual(second.error.details.code, "AUTH_BOOTSTRAP_TOKEN_INVALID")
    }).pipe(Effect.provide(trusted())))

  it.effect("a device signature older or newer than 2 minutes is refused", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("10 minutes")
      const now = 600_000
      const device = newDevice()
      const stale = yield* connectMemory(device, { auth: { token: TEST_TOKEN }, signedAt: now - 120_001, remote: false })
      assert.strictEqual(stale.error.details.code, "DEVICE_AUTH_SIGNATURE_EXPIRED")
      const future = yield* connectMemory(device, { auth: { token: TEST_TOKEN }, signedAt: now + 120_001, remote: false })
      assert.strictEqual(future.error.details.code, "DEVICE_AUTH_SIGNATURE_EXPIRED")
      const edge = yield* connectMemory(device, { auth: { token: TEST_TOKEN }, signedAt: now - 120_000, remote: false })
      assert.strictEqual(edge.ok, true)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("a signature over another connection's nonce is refused", () =>
    Effect.gen(function*() {
      const res = yield* connectMemory(newDevice(), { auth: { token: TEST_TOKEN }, nonce: "not-this-one", remote: false })
      assert.strictEqual(res.error.details.code, "DEVICE_AUTH_NONCE_MISMATCH")
    }).pipe(Effect.provide(coreLayer())))
})
