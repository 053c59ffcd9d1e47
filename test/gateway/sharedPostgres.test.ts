import { assert, describe, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { connectDevice, newDevice } from "../helpers/device.ts"
import { postgresAvailable, TestPostgres } from "../helpers/postgres.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const REMOTE = { "x-forwarded-for": "203.0.113.9" }

// A gateway on its own port and state dir whose pairing state is the database at `url`.
const gateway = (url: Redacted.Redacted<string>) =>
  Effect.map(
    Layer.build(serverLayer({}, {
      ...homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }),
      GATEHOUSE_POSTGRES_URL: Redacted.value(url)
    })),
    (context) => ({ url: Context.get(context, GatewayServer).url })
  )

const operatorCall = (url: string, method: string, params: unknown = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* openWs(url)
    yield* c.nextMatching((f) => f.event === "connect.challenge")
    const client = { id: "openclaw-tui", version: "t", platform: "linux", mode: "ui" }
    yield* c.send({ type: "req", id: "op", method: "connect", params: { minProtocol: 4, maxProtocol: 4, client, auth: { token: TEST_TOKEN }, scopes: ["operator.admin"] } })
    assert.strictEqual((yield* c.nextMatching((f) => f.id === "op")).ok, true)
    yield* c.send({ type: "req", id: "call", method, params })
    return yield* c.nextMatching((f) => f.id === "call")
  }))

describe("two gateways sharing one PostgreSQL pairing database", () => {
  if (!postgresAvailable("the shared PostgreSQL gateway test")) return
  layer(TestPostgres.layer, { timeout: "60 seconds", excludeTestServices: true })("on a real server", (it) => {
    it.effect("a device approved through gateway A connects to gateway B with its device token", () =>
      Effect.scoped(Effect.gen(function*() {
        const database = yield* (yield* TestPostgres).freshDatabase
        const a = yield* gateway(database)
        const b = yield* gateway(database)
        const device = newDevice()

        const asked = yield* Effect.scoped(Effect.flatMap(openWs(a.url, REMOTE), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))
        assert.strictEqual(asked.error.details.code, "PAIRING_REQUIRED")
        const requestId = asked.error.details.requestId as string
        const pendingOnB = yield* operatorCall(b.url, "device.pair.list")
        assert.deepStrictEqual(pendingOnB.payload.pending.map((p: { requestId: string }) => p.requestId), [requestId])

        const approved = yield* operatorCall(a.url, "device.pair.approve", { requestId })
        assert.strictEqual(approved.ok, true, JSON.stringify(approved.error))
        const onA = yield* Effect.scoped(Effect.flatMap(openWs(a.url, REMOTE), (c) => connectDevice(c, device, { auth: { token: TEST_TOKEN } })))
        assert.strictEqual(onA.ok, true, JSON.stringify(onA.error))
        const deviceToken = onA.payload.auth.deviceToken as string

        const onB = yield* Effect.scoped(Effect.flatMap(openWs(b.url, REMOTE), (c) => connectDevice(c, device, { auth: { deviceToken } })))
        assert.strictEqual(onB.ok, true, JSON.stringify(onB.error))
        assert.strictEqual(onB.payload.auth.method, "device-token")
        assert.strictEqual(onB.payload.auth.deviceToken, undefined)

        const wrong = yield* Effect.scoped(Effect.flatMap(openWs(b.url, REMOTE), (c) => connectDevice(c, device, { auth: { deviceToken: "not-the-token" } })))
        assert.strictEqual(wrong.error.details.code, "AUTH_DEVICE_TOKEN_MISMATCH")
      })))
  })
})
