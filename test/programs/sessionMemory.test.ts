import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { queryObjects } from "node:v8"
import { connectParams, coreLayer, openMemory } from "../helpers/testGateway.ts"

// Counts live generators after a full GC (queryObjects collects first): every suspended `Effect.gen` /
// `Effect.fn` body is one, and each keeps all its locals alive, so it measures what a session holds.
function AnyGenerator() {}
AnyGenerator.prototype = Object.getPrototypeOf(Object.getPrototypeOf((function*() {})()))
const liveGenerators = () => queryObjects(AnyGenerator as unknown as new() => object, { format: "count" })

const SESSIONS = 40

describe("an idle session's memory", () => {
  it.effect("keeps at most one suspended generator per session: the handshake's (its connect frame, params and hello-ok) is gone", () =>
    Effect.gen(function*() {
      const open = Effect.gen(function*() {
        const c = yield* openMemory()
        yield* c.next
        yield* c.push({ type: "req", id: "1", method: "connect", params: connectParams() })
        const res = yield* c.next
        assert.strictEqual(res.ok, true)
        return c
      })
      // One session first, so that whatever the gateway makes once is there in both counts.
      yield* open
      const before = liveGenerators()
      const held = []
      for (let i = 0; i < SESSIONS; i++) held.push(yield* open)
      const perSession = (liveGenerators() - before) / SESSIONS
      // Before the handshake ended on its own, each idle session held four (connection, session, start-up, serving).
      assert.isAtMost(perSession, 1.5, `${perSession} live generators per idle session`)
      assert.strictEqual(held.length, SESSIONS)
    }).pipe(Effect.provide(coreLayer())))
})
