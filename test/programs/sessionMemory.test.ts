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
  it.effect("keeps at most one suspended generator and one map per session: the handshake's frames (its connect frame, params and hello-ok) are gone, no context copy", () =>
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
      const mapsBefore = queryObjects(Map, { format: "count" })
      const held = []
      for (let i = 0; i < SESSIONS; i++) held.push(yield* open)
      const perSession = (liveGenerators() - before) / SESSIONS
      const mapsPerSession = (queryObjects(Map, { format: "count" }) - mapsBefore) / SESSIONS
      // Before the handshake ended on its own, each idle session held four (connection, session, start-up, serving).
      assert.isAtMost(perSession, 1.5, `${perSession} live generators per idle session`)
      // One map: the frame router's table of the session's requests. Before, also a copy of the gateway's
      // service map (a context merged per connection) and the method buckets of a session that sent none.
      assert.isAtMost(mapsPerSession, 1.5, `${mapsPerSession} live maps per idle session`)
      assert.strictEqual(held.length, SESSIONS)
    }).pipe(Effect.provide(coreLayer())))
})
