import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { memoryNode, memoryOperator } from "../helpers/memoryNode.ts"
import { reloadGateway, settle } from "../helpers/reloadGateway.ts"
import { connectParams, openMemory } from "../helpers/testGateway.ts"

describe("config hot reload", () => {
  it.live("the file watcher applies an edit within a few seconds without any poll", () => {
    const logged: Array<string> = []
    const gw = reloadGateway({ gateway: { nodes: { denyCommands: [] } } }, logged)
    return Effect.gen(function*() {
      const { live } = yield* GatewayConfig
      const applied = yield* Deferred.make<void>()
      // Real time here: the 2 s poll cannot be what applied it within the 1.5 s allowed below.
      yield* Effect.forkScoped(Effect.gen(function*() {
        while ((yield* SubscriptionRef.get(live)).config.nodeCommands.denyCommands.length === 0) yield* Effect.sleep("20 millis")
        yield* Deferred.succeed(applied, undefined)
      }))
      yield* Effect.sleep("100 millis")
      gw.write({ gateway: { nodes: { denyCommands: ["system.notify"] } } })
      yield* Deferred.await(applied).pipe(Effect.timeout("1500 millis"))
    }).pipe(Effect.scoped, Effect.provide(gw.layer))
  })

  it.effect("a changed node allowlist applies to the running gateway and is logged", () => {
    const logged: Array<string> = []
    const gw = reloadGateway({ gateway: { nodes: { denyCommands: [] } } }, logged)
    return Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const before = yield* op.call("node.describe", { nodeId: node.nodeId })
      assert.include(before.payload.invokableCommands, "system.notify")
      gw.write({ gateway: { nodes: { denyCommands: ["system.notify"] } } })
      yield* settle((l) => l.config.nodeCommands.denyCommands.includes("system.notify"))
      const after = yield* op.call("node.describe", { nodeId: node.nodeId })
      assert.notInclude(after.payload.invokableCommands, "system.notify")
      const invoked = yield* op.call("node.invoke", { nodeId: node.nodeId, command: "system.notify", params: {}, idempotencyKey: "k1" })
      assert.strictEqual(invoked.ok, false)
      assert.isTrue(logged.some((l) => l === "config reloaded: changed gateway.nodes.denyCommands"), logged.join("\n"))
      const shown = yield* op.call("config.get")
      assert.deepStrictEqual(shown.payload.config.gateway.nodes, { denyCommands: ["system.notify"] })
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("an invalid edit keeps the last good config, is reported, and no path reaches an unauthenticated client", () => {
    const logged: Array<string> = []
    const gw = reloadGateway({ gateway: { auth: { token: "file-token-0123456789abcdef" } } }, logged, { token: undefined })
    return Effect.gen(function*() {
      gw.write("{ gateway: ")
      yield* settle((l) => l.invalid !== undefined)
      // The last good token still admits; the broken file refuses no one.
      const c = yield* openMemory()
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token: "file-token-0123456789abcdef" }, scopes: ["operator.admin"] }) })
      const ok = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(ok.ok, true, JSON.stringify(ok.error))
      // A stranger with a wrong token learns nothing of the file or its path.
      const stranger = yield* openMemory({ remoteAddress: "198.51.100.9" })
      yield* stranger.next
      yield* stranger.push({ type: "req", id: "s", method: "connect", params: connectParams({ auth: { token: "guess" } }) })
      const refused = yield* stranger.nextMatching((f) => f.id === "s")
      assert.strictEqual(refused.ok, false)
      assert.notInclude(JSON.stringify(refused), gw.configPath)
      assert.notInclude(JSON.stringify(refused), "openclaw.json")
      yield* c.push({ type: "req", id: "st", method: "status", params: {} })
      const status = yield* c.nextMatching((f) => f.id === "st")
      assert.include(status.payload.config.invalid, "not valid JSON5")
      assert.isTrue(logged.some((l) => l.startsWith("config reload failed, the last good config stays in force")), logged.join("\n"))
      // Fixed again: reported as valid, and the reason leaves status.
      gw.write({ gateway: { auth: { token: "file-token-0123456789abcdef" } } })
      yield* settle((l) => l.invalid === undefined)
      assert.isTrue(logged.some((l) => l.endsWith("is valid again")))
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("an edit a start would refuse (a placeholder token) is not put in force", () => {
    const gw = reloadGateway({ gateway: { auth: { token: "file-token-0123456789abcdef" } } }, [], { token: undefined })
    return Effect.gen(function*() {
      gw.write({ gateway: { auth: { token: "change-me" } } })
      yield* settle((l) => l.invalid !== undefined)
      assert.include((yield* SubscriptionRef.get((yield* GatewayConfig).live)).invalid, "placeholder")
      for (const [token, ok] of [["change-me", false], ["file-token-0123456789abcdef", true]] as const) {
        const c = yield* openMemory()
        yield* c.next
        yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token } }) })
        assert.strictEqual((yield* c.nextMatching((f) => f.id === "c")).ok, ok, token)
      }
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a read-only operator's status says the file is invalid without naming its path", () => {
    const gw = reloadGateway({}, [])
    return Effect.gen(function*() {
      gw.write("[1, 2")
      yield* settle((l) => l.invalid !== undefined)
      const op = yield* memoryOperator(["operator.read"])
      const status = yield* op.call("status")
      assert.isDefined(status.payload.config.invalid)
      assert.notInclude(JSON.stringify(status.payload), gw.configPath)
    }).pipe(Effect.provide(gw.layer))
  })

  it.effect("a restart-only key is reported as restart needed, in the log and in status, and the port stays", () => {
    const logged: Array<string> = []
    const gw = reloadGateway({ gateway: { port: 20111 } }, logged, { port: undefined })
    return Effect.gen(function*() {
      gw.write({ gateway: { port: 20112, trustedProxies: ["10.0.0.1"] } })
      yield* settle((l) => l.restartNeeded.includes("gateway.port"))
      const op = yield* memoryOperator()
      const status = yield* op.call("status")
      assert.deepStrictEqual(status.payload.config.restartNeeded, ["gateway.port"])
      assert.strictEqual(status.payload.config.restartCommand, "gatehouse gateway restart")
      assert.isTrue(logged.some((l) => l === "config changed gateway.port: restart needed to apply (run `gatehouse gateway restart`)"), logged.join("\n"))
      // The live key in the same edit applied.
      assert.isTrue(logged.some((l) => l === "config reloaded: changed gateway.trustedProxies"), logged.join("\n"))
      assert.strictEqual((yield* GatewayConfig).config.port.value, 20111)
      // Undone: nothing waits for a restart any more.
      gw.write({ gateway: { port: 20111 } })
      yield* settle((l) => l.restartNeeded.length === 0)
    }).pipe(Effect.provide(gw.layer))
  })
})
