import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/testing/TestClock"
import type { Principal } from "../../src/auth/principal.ts"
import { isPairer, type LiveConnection } from "../../src/connections/liveConnection.ts"
import * as ConnectionHubLive from "../../src/layers/ConnectionHubLive.ts"
import { ConnectionHub } from "../../src/services/ConnectionHub.ts"

// A connection that records the events sent to it.
const connection = (connId: string, role: Principal["role"], scopes: ReadonlyArray<string>, got: Array<string>): LiveConnection => ({
  connId,
  clientId: Number(connId.replace(/\D/g, "")),
  principal: { method: "token", role, scopes },
  client: { id: role === "node" ? "node-host" : "cli", version: "1", platform: "linux", mode: role === "node" ? "node" : "ui" },
  remoteAddress: "127.0.0.1",
  connectedAtMs: 0,
  sendEvent: (event, payload) =>
    Effect.sync(() => void got.push(event === "presence" ? `${connId}:presence:${(payload as { presence: Array<unknown> }).presence.length}` : `${connId}:${event}`)),
  sendDirect: () => Effect.void,
  close: () => Effect.void
})

describe("ConnectionHubLive broadcasts", () => {
  it.effect("an operators-only broadcast reaches operators (in registration order, through the filter) and never a node", () =>
    Effect.gen(function*() {
      const hub = yield* ConnectionHub
      const got: Array<string> = []
      yield* hub.register(connection("c1", "node", [], got))
      yield* hub.register(connection("c2", "operator", ["operator.pairing"], got))
      yield* hub.register(connection("c3", "operator", ["operator.read"], got))
      yield* hub.register(connection("c4", "node", ["operator.admin"], got))
      yield* hub.register(connection("c5", "operator", ["operator.admin"], got))
      got.length = 0
      yield* hub.broadcast("device.pair.requested", {}, { audience: "operators", filter: isPairer })
      assert.deepStrictEqual(got, ["c2:device.pair.requested", "c5:device.pair.requested"])
      got.length = 0
      yield* hub.broadcast("to-operators", {}, { audience: "operators", filter: () => true })
      assert.deepStrictEqual(got, ["c2:to-operators", "c3:to-operators", "c5:to-operators"])
      got.length = 0
      yield* hub.broadcast("tick", {})
      assert.deepStrictEqual(got, ["c1:tick", "c2:tick", "c3:tick", "c4:tick", "c5:tick"])
      yield* hub.unregister("c2")
      got.length = 0
      yield* hub.broadcast("device.pair.resolved", {}, { audience: "operators", filter: isPairer })
      assert.deepStrictEqual(got, ["c5:device.pair.resolved"])
    }).pipe(Effect.provide(ConnectionHubLive.layer)))
})

describe("ConnectionHubLive presence", () => {
  it.effect("a storm of connects sends each reader one list at once and one folded list per 250 ms, the latest", () =>
    Effect.gen(function*() {
      const hub = yield* ConnectionHub
      const got: Array<string> = []
      yield* hub.register(connection("c1", "operator", ["operator.read"], got))
      assert.deepStrictEqual(got, ["c1:presence:2"]) // self and the reader, at once
      got.length = 0
      for (let i = 2; i <= 101; i++) yield* hub.register(connection(`c${i}`, "node", [], got))
      assert.deepStrictEqual(got, []) // folded: nothing yet
      yield* TestClock.adjust("249 millis")
      assert.deepStrictEqual(got, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(got, ["c1:presence:102"]) // one list with all 100 nodes
      got.length = 0
      yield* TestClock.adjust("1 second")
      yield* hub.unregister("c2")
      assert.deepStrictEqual(got, ["c1:presence:101"]) // a change in a quiet moment goes out at once
      const version = (yield* hub.stateVersion).presence
      assert.strictEqual(version, 103) // every change still moves the version
    }).pipe(Effect.provide(ConnectionHubLive.layer)))
})

describe("ConnectionHubLive presence and the wall clock", () => {
  it.effect("a clock set back an hour holds presence at most one interval", () =>
    Effect.gen(function*() {
      const hub = yield* ConnectionHub
      const got: Array<string> = []
      yield* TestClock.setTime(3_600_000)
      yield* hub.register(connection("c1", "operator", ["operator.read"], got))
      assert.deepStrictEqual(got, ["c1:presence:2"])
      got.length = 0
      yield* TestClock.setTime(0)
      yield* hub.register(connection("c2", "node", [], got))
      yield* TestClock.adjust("250 millis")
      assert.deepStrictEqual(got, ["c1:presence:3"])
    }).pipe(Effect.provide(ConnectionHubLive.layer)))
})
