import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { InvokeTable } from "../../src/nodes/invokeTable.ts"

// The table indexes calls by node (a disconnect costs that node's calls, not a scan of all of them).
// The model is the plain list it replaced: for any mix of starts, answers, give-ups and node
// disconnects, the same calls end, with the same errors, and the same idempotency keys stay.
const Op = Schema.Union([
  Schema.Struct({ op: Schema.Literal("start"), node: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })), key: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 })) }),
  Schema.Struct({ op: Schema.Literal("answer"), pick: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })), byOwner: Schema.Boolean }),
  Schema.Struct({ op: Schema.Literal("abandon"), pick: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })) }),
  Schema.Struct({ op: Schema.Literal("disconnect"), node: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })) })
])

interface ModelCall {
  readonly id: string
  readonly nodeId: string
  readonly key: string
  readonly outcome: Deferred.Deferred<unknown, string>
}

describe("InvokeTable", () => {
  it.effect.prop(
    "a node's disconnect fails exactly its calls in flight and forgets only their keys",
    { ops: Schema.Array(Op).check(Schema.isMinLength(1), Schema.isMaxLength(40)) },
    ({ ops }) =>
      Effect.gen(function*() {
        const table = new InvokeTable<string>()
        let live: Array<ModelCall> = []
        const keys = new Map<string, Deferred.Deferred<unknown, string>>()
        const ended: Array<[Deferred.Deferred<unknown, string>, Exit.Exit<unknown, string>]> = []
        let n = 0
        for (const o of ops) {
          if (o.op === "start") {
            const id = `i${n++}`
            const nodeId = `n${o.node}`
            const key = `k${o.key}`
            if (table.recall(key, 0) !== undefined) continue
            const outcome = yield* Deferred.make<unknown, string>()
            table.start(id, nodeId, "caller", "system.which", outcome, key, 0)
            live.push({ id, nodeId, key, outcome })
            keys.set(key, outcome)
          } else if (o.op === "answer" && live.length > 0) {
            const call = live[o.pick % live.length]!
            const owner = o.byOwner ? call.nodeId : "someone-else"
            const taken = yield* table.complete(call.id, owner, Exit.succeed(call.id))
            assert.strictEqual(taken, o.byOwner)
            if (taken) {
              live = live.filter((c) => c !== call)
              ended.push([call.outcome, Exit.succeed(call.id)])
            }
          } else if (o.op === "abandon" && live.length > 0) {
            const call = live[o.pick % live.length]!
            yield* table.abandon(call.id, call.key, "gave up")
            live = live.filter((c) => c !== call)
            if (keys.get(call.key) === call.outcome) keys.delete(call.key)
            ended.push([call.outcome, Exit.fail("gave up")])
          } else if (o.op === "disconnect") {
            const nodeId = `n${o.node}`
            const failed = yield* table.failNode(nodeId, (command) => `gone: ${command}`)
            const mine = live.filter((c) => c.nodeId === nodeId)
            assert.strictEqual(failed, mine.length)
            for (const c of mine) {
              if (keys.get(c.key) === c.outcome) keys.delete(c.key)
              ended.push([c.outcome, Exit.fail("gone: system.which")])
            }
            live = live.filter((c) => c.nodeId !== nodeId)
          }
        }
        assert.strictEqual(table.size, live.length)
        for (const [outcome, exit] of ended) assert.deepStrictEqual(yield* Deferred.await(outcome).pipe(Effect.exit), exit)
        for (const c of live) assert.isFalse(yield* Deferred.isDone(c.outcome))
        for (let k = 0; k <= 5; k++) assert.strictEqual(table.recall(`k${k}`, 0), keys.get(`k${k}`), `key k${k}`)
        // Every call still in flight can still be answered by its node: the index lost none of them.
        for (const c of live) assert.isTrue(yield* table.complete(c.id, c.nodeId, Exit.succeed("late")))
        assert.strictEqual(table.size, 0)
      }),
    { arbitrary: { runs: 300 } }
  )

  it.effect("a disconnect of a node with nothing in flight changes nothing", () =>
    Effect.gen(function*() {
      const table = new InvokeTable<string>()
      const outcome = yield* Deferred.make<unknown, string>()
      table.start("a", "n1", "caller", "system.which", outcome, "k", 0)
      assert.strictEqual(yield* table.failNode("n2", () => "gone"), 0)
      assert.strictEqual(table.size, 1)
      assert.strictEqual(table.recall("k", 0), outcome)
      assert.isUndefined(table.full("caller", "n1"))
    }))
})
