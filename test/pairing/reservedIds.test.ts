import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodePairingStore, PairingStore } from "../../src/index.ts"
import { connectParams, coreLayer, openMemory } from "../helpers/testGateway.ts"

const RESERVED = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]
const ADMIN = ["operator.admin"]

describe("ids that name Object's own members", () => {
  it.effect("are unknown to every pairing method and change nothing", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ scopes: ADMIN }) })
      assert.strictEqual((yield* c.nextMatching((f) => f.id === "c")).ok, true)
      let n = 0
      const call = (method: string, params: unknown) =>
        Effect.gen(function*() {
          const id = `r${n++}`
          yield* c.push({ type: "req", id, method, params })
          return yield* c.nextMatching((f) => f.id === id)
        })
      for (const key of RESERVED) {
        for (const [method, params] of [
          ["device.pair.approve", { requestId: key }],
          ["device.pair.reject", { requestId: key }],
          ["device.pair.remove", { deviceId: key }],
          ["device.token.rotate", { deviceId: key, role: "operator" }],
          ["device.token.revoke", { deviceId: key, role: "operator" }],
          ["node.pair.approve", { requestId: key }],
          ["node.pair.reject", { requestId: key }],
          ["node.rename", { nodeId: key, displayName: "x" }],
          ["node.describe", { nodeId: key }]
        ] as const) {
          const res = yield* call(method, params)
          assert.strictEqual(res.ok, false, `${method} ${key}: ${JSON.stringify(res)}`)
          assert.strictEqual(res.error.code, "INVALID_REQUEST", `${method} ${key}: ${JSON.stringify(res.error)}`)
        }
      }
      const devices = yield* (yield* PairingStore).list
      const nodes = yield* (yield* NodePairingStore).list
      assert.deepStrictEqual({ devices, nodes }, { devices: { pending: [], paired: [] }, nodes: { pending: [], paired: [] } })
    }).pipe(Effect.provide(coreLayer())))
})
