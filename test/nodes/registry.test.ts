import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { NodeRegistry } from "../../src/services/NodeRegistry.ts"
import { memoryNode, memoryOperator } from "../helpers/memoryNode.ts"
import { coreLayer, homeWithConfig } from "../helpers/testGateway.ts"

const gateway = () => coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], nodes: { allowCommands: ["system.run"] } } }))

describe("node.invoke", () => {
  it.effect("sends node.invoke.request without seq and returns the node's answer", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const id = yield* op.send("node.invoke", { nodeId: node.nodeId, command: "system.which", params: { name: "sh" }, idempotencyKey: "k1" })
      const request = yield* node.nextInvoke
      assert.isUndefined(request.seq)
      assert.deepInclude(request.payload, { nodeId: node.nodeId, command: "system.which", paramsJSON: "{\"name\":\"sh\"}", timeoutMs: 30000, idempotencyKey: "k1" })
      yield* node.answer(request.payload, { path: "/bin/sh" })
      const res = yield* op.nextMatching((f) => f.id === id)
      assert.deepInclude(res.payload, { ok: true, nodeId: node.nodeId, command: "system.which", payload: { path: "/bin/sh" } })
    }).pipe(Effect.provide(gateway())))

  it.effect("times out after 30 s by default with TIMEOUT", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const id = yield* op.send("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: "slow" })
      yield* node.nextInvoke
      yield* TestClock.adjust("29999 millis")
      const registry = yield* NodeRegistry
      assert.strictEqual(yield* registry.inFlight, 1)
      yield* TestClock.adjust("1 millis")
      const res = yield* op.nextMatching((f) => f.id === id)
      assert.strictEqual(res.error.code, "TIMEOUT")
      assert.strictEqual(yield* registry.inFlight, 0)
    }).pipe(Effect.provide(gateway())))

  it.effect("returns the first answer to a repeated idempotency key instead of running twice", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const params = { nodeId: node.nodeId, command: "system.notify", params: { title: "once" }, idempotencyKey: "same" }
      const first = yield* op.send("node.invoke", params)
      const request = yield* node.nextInvoke
      const second = yield* op.send("node.invoke", params)
      yield* node.answer(request.payload, { delivered: 1 })
      const a = yield* op.nextMatching((f) => f.id === first)
      const b = yield* op.nextMatching((f) => f.id === second)
      assert.deepStrictEqual(a.payload, b.payload)
      const third = yield* op.send("node.invoke", params)
      assert.deepStrictEqual((yield* op.nextMatching((f) => f.id === third)).payload, a.payload)
      yield* node.push({ type: "req", id: "late", method: "node.invoke.result", params: { id: request.payload.id, nodeId: node.nodeId, ok: true } })
      assert.deepStrictEqual((yield* node.nextMatching((f) => f.id === "late")).payload, { ok: true, ignored: true })
    }).pipe(Effect.provide(gateway())))

  it.effect("scopes idempotency keys to the caller: another caller's same key runs its own call", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const alice = yield* memoryOperator()
      const bob = yield* memoryOperator()
      const params = { nodeId: node.nodeId, command: "system.which", params: { name: "sh" }, idempotencyKey: "shared" }
      const fromAlice = yield* alice.send("node.invoke", params)
      yield* node.answer((yield* node.nextInvoke).payload, { path: "/alice" })
      assert.deepStrictEqual((yield* alice.nextMatching((f) => f.id === fromAlice)).payload.payload, { path: "/alice" })
      const fromBob = yield* bob.send("node.invoke", params)
      yield* node.answer((yield* node.nextInvoke).payload, { path: "/bob" })
      assert.deepStrictEqual((yield* bob.nextMatching((f) => f.id === fromBob)).payload.payload, { path: "/bob" })
    }).pipe(Effect.provide(gateway())))

  it.effect("caps the invokes one caller has in flight, and the cap frees as answers arrive", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const greedy = yield* memoryOperator()
      const other = yield* memoryOperator()
      for (let i = 0; i < 64; i++) yield* greedy.send("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: `k${i}` })
      const requests = []
      for (let i = 0; i < 64; i++) requests.push(yield* node.nextInvoke)
      const refused = yield* greedy.call("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: "k64" })
      assert.strictEqual(refused.error.code, "UNAVAILABLE")
      assert.deepStrictEqual(refused.error.details, { code: "INVOKE_BUDGET_EXCEEDED", scope: "caller", limit: 64 })
      const fromOther = yield* other.send("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: "o" })
      yield* node.answer((yield* node.nextInvoke).payload, { ok: 1 })
      assert.strictEqual((yield* other.nextMatching((f) => f.id === fromOther)).ok, true)
      yield* node.answer(requests[0]!.payload, { ok: 1 })
      const again = yield* greedy.send("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: "k65" })
      assert.strictEqual((yield* node.nextInvoke).payload.idempotencyKey, "k65")
      assert.isString(again)
    }).pipe(Effect.provide(gateway())))

  it.effect("gives callers waiting on a repeated key the first call's timeout, not a hang", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const params = { nodeId: node.nodeId, command: "system.which", idempotencyKey: "stuck", timeoutMs: 1000 }
      const first = yield* op.send("node.invoke", params)
      yield* node.nextInvoke
      const second = yield* op.send("node.invoke", params)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* op.nextMatching((f) => f.id === first)).error.code, "TIMEOUT")
      assert.strictEqual((yield* op.nextMatching((f) => f.id === second)).error.code, "TIMEOUT")
    }).pipe(Effect.provide(gateway())))

  it.effect("refuses a request id that is still in flight and keeps the connection", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const op = yield* memoryOperator()
      const frame = { type: "req", id: "same", method: "node.invoke", params: { nodeId: node.nodeId, command: "system.which", idempotencyKey: "a" } }
      yield* op.push(frame)
      const request = yield* node.nextInvoke
      yield* op.push({ ...frame, params: { ...frame.params, idempotencyKey: "b" } })
      const refused = yield* op.nextMatching((f) => f.id === "same")
      assert.include(refused.error.message, "duplicate request id")
      yield* node.answer(request.payload, { path: "/bin/true" })
      assert.strictEqual((yield* op.nextMatching((f) => f.id === "same")).ok, true)
      assert.isFalse(yield* Deferred.isDone(op.closed))
    }).pipe(Effect.provide(gateway())))

  it.effect("accepts a result only from the node it was sent to", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const other = yield* memoryNode()
      const op = yield* memoryOperator()
      yield* op.send("node.invoke", { nodeId: node.nodeId, command: "system.which", idempotencyKey: "x" })
      const request = yield* node.nextInvoke
      yield* other.push({ type: "req", id: "spoof", method: "node.invoke.result", params: { id: request.payload.id, nodeId: node.nodeId, ok: true } })
      assert.include((yield* other.nextMatching((f) => f.id === "spoof")).error.message, "nodeId mismatch")
      yield* other.push({ type: "req", id: "own", method: "node.invoke.result", params: { id: request.payload.id, nodeId: other.nodeId, ok: true } })
      assert.deepStrictEqual((yield* other.nextMatching((f) => f.id === "own")).payload, { ok: true, ignored: true })
    }).pipe(Effect.provide(gateway())))

  it.effect("refuses undeclared, unapproved and policy-forbidden commands with the reason", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode({ commands: ["system.which", "camera.snap"] })
      const op = yield* memoryOperator()
      const undeclared = yield* op.call("node.invoke", { nodeId: node.nodeId, command: "system.run", idempotencyKey: "a" })
      assert.include(undeclared.error.message, "command not declared by node")
      const dangerous = yield* op.call("node.invoke", { nodeId: node.nodeId, command: "camera.snap", idempotencyKey: "b" })
      assert.include(dangerous.error.message, "needs an explicit allow")
      const missing = yield* op.call("node.invoke", { nodeId: "nope", command: "system.which", idempotencyKey: "c" })
      assert.strictEqual(missing.error.details.code, "NOT_CONNECTED")
      const remote = yield* memoryNode({ remote: true, commands: ["system.which"] })
      const unapproved = yield* op.call("node.invoke", { nodeId: remote.nodeId, command: "system.which", idempotencyKey: "d" })
      assert.include(unapproved.error.message, "gatehouse nodes approve")
      const pending = (yield* op.call("node.pair.list")).payload.pending.find((p: { nodeId: string }) => p.nodeId === remote.nodeId)
      assert.strictEqual((yield* op.call("node.pair.reject", { requestId: pending.requestId })).ok, true)
      const afterReject = yield* op.call("node.invoke", { nodeId: remote.nodeId, command: "system.which", idempotencyKey: "e" })
      assert.include(afterReject.error.message, "an operator rejected its pairing request")
    }).pipe(Effect.provide(gateway())))

  it.effect("fails only the invokes of a node that disconnects, at once", () =>
    Effect.gen(function*() {
      const nodes = yield* Effect.all(Array.from({ length: 5 }, () => memoryNode()))
      const op = yield* memoryOperator()
      const ids: Array<{ id: string; node: number }> = []
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < nodes.length; i++) {
          ids.push({ id: yield* op.send("node.invoke", { nodeId: nodes[i]!.nodeId, command: "system.which", idempotencyKey: `${round}-${i}` }), node: i })
        }
      }
      const requests = yield* Effect.forEach(nodes, (n) => Effect.forEach([0, 1, 2, 3], () => n.nextInvoke))
      yield* nodes[2]!.disconnect
      const failed = yield* Effect.forEach(ids.filter((x) => x.node === 2), (x) => op.nextMatching((f) => f.id === x.id))
      for (const f of failed) assert.strictEqual(f.error.details.code, "NOT_CONNECTED")
      yield* Effect.forEach(nodes.map((n, i) => [n, i] as const).filter(([, i]) => i !== 2), ([n, i]) =>
        Effect.forEach(requests[i]!, (r) => n.answer(r.payload, { node: i })))
      const answered = yield* Effect.forEach(ids.filter((x) => x.node !== 2), (x) => op.nextMatching((f) => f.id === x.id))
      for (const [k, a] of answered.entries()) assert.strictEqual(a.payload.payload.node, ids.filter((x) => x.node !== 2)[k]!.node)
    }).pipe(Effect.provide(gateway())))

  it.effect("replaces the session of a node that reconnects with the same id", () =>
    Effect.gen(function*() {
      const first = yield* memoryNode()
      const second = yield* memoryNode({ device: first.device })
      const closed = yield* Deferred.await(first.closed)
      assert.strictEqual(closed.code, 1008)
      const op = yield* memoryOperator()
      const list = yield* op.call("node.list")
      assert.lengthOf(list.payload.nodes.filter((n: { nodeId: string }) => n.nodeId === first.nodeId), 1)
      yield* op.send("node.invoke", { nodeId: first.nodeId, command: "system.which", idempotencyKey: "z" })
      assert.strictEqual((yield* second.nextInvoke).payload.nodeId, first.nodeId)
    }).pipe(Effect.provide(gateway())))

  it.effect("relays node.event only to operators that subscribed", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode()
      const listener = yield* memoryOperator(["operator.read"])
      const other = yield* memoryOperator(["operator.read"])
      assert.strictEqual((yield* listener.call("node.events.subscribe", { nodeIds: [node.nodeId] })).ok, true)
      yield* node.push({ type: "req", id: "e", method: "node.event", params: { event: "battery", payloadJSON: "{\"level\":40}" } })
      const relayed = yield* listener.nextMatching((f) => f.event === "node.event")
      assert.deepInclude(relayed.payload, { nodeId: node.nodeId, event: "battery", payload: { level: 40 } })
      yield* other.push({ type: "req", id: "sync", method: "health" })
      const next = yield* other.nextMatching((f) => f.id === "sync" || f.event === "node.event")
      assert.strictEqual(next.id, "sync")
    }).pipe(Effect.provide(gateway())))
})

describe("node pairing", () => {
  it.effect("a remote node waits; exec-like commands need admin to approve; approval makes them invokable", () =>
    Effect.gen(function*() {
      const pairer = yield* memoryOperator(["operator.pairing"])
      const node = yield* memoryNode({ remote: true, commands: ["system.which", "system.run"] })
      const requested = yield* pairer.nextMatching((f) => f.event === "node.pair.requested")
      assert.deepStrictEqual(requested.payload.requiredApproveScopes, ["operator.pairing", "operator.admin"])
      const denied = yield* pairer.call("node.pair.approve", { requestId: requested.payload.requestId })
      assert.include(denied.error.message, "missing scope: operator.admin")
      const admin = yield* memoryOperator(["operator.admin"])
      const approved = yield* admin.call("node.pair.approve", { requestId: requested.payload.requestId })
      assert.strictEqual(approved.ok, true)
      assert.isUndefined(approved.payload.node.token)
      const id = yield* admin.send("node.invoke", { nodeId: node.nodeId, command: "system.run", params: { command: ["true"] }, idempotencyKey: "go" })
      const request = yield* node.nextInvoke
      yield* node.answer(request.payload, { exitCode: 0 })
      assert.strictEqual((yield* admin.nextMatching((f) => f.id === id)).ok, true)
      const renamed = yield* admin.call("node.rename", { nodeId: node.nodeId, displayName: "kitchen" })
      assert.strictEqual(renamed.payload.node.displayName, "kitchen")
      const listed = yield* admin.call("node.list")
      assert.strictEqual(listed.payload.nodes.find((n: { nodeId: string }) => n.nodeId === node.nodeId).displayName, "kitchen")
    }).pipe(Effect.provide(gateway())))
})

describe("removing a node's device", () => {
  it.effect("also forgets its approved commands, so pairing it again starts from nothing", () =>
    Effect.gen(function*() {
      const admin = yield* memoryOperator(["operator.admin"])
      const node = yield* memoryNode({ remote: true, commands: ["system.which"] })
      const requested = yield* admin.nextMatching((f) => f.event === "node.pair.requested")
      assert.strictEqual((yield* admin.call("node.pair.approve", { requestId: requested.payload.requestId })).ok, true)
      assert.strictEqual((yield* admin.call("device.pair.remove", { deviceId: node.nodeId })).ok, true)
      const listed = yield* admin.call("node.pair.list")
      assert.notInclude(listed.payload.paired.map((n: { nodeId: string }) => n.nodeId), node.nodeId)
    }).pipe(Effect.provide(gateway())))
})

describe("a registry under load", () => {
  it.effect("stays consistent across a thousand node connections and random disconnects", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const nodes = yield* Effect.forEach(Array.from({ length: 1000 }, (_, i) => i), () => memoryNode(), { concurrency: 50 })
      assert.lengthOf((yield* registry.list).filter((n) => n.connected), 1000)
      let seed = 42
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
      const alive = new Set(nodes.map((_, i) => i))
      for (let i = 0; i < 400; i++) {
        const k = Math.floor(random() * nodes.length)
        if (!alive.has(k)) continue
        alive.delete(k)
        yield* nodes[k]!.disconnect
        yield* Fiber.join(nodes[k]!.fiber)
      }
      const connected = (yield* registry.list).filter((n) => n.connected).map((n) => n.nodeId).sort()
      assert.deepStrictEqual(connected, [...alive].map((i) => nodes[i]!.nodeId).sort())
    }).pipe(Effect.provide(gateway())), 120_000)
})
