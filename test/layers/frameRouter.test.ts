import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as RpcFrameProtocol from "../../src/layers/RpcFrameProtocol.ts"
import { FrameRouter, MAX_IN_FLIGHT_PER_CLIENT } from "../../src/services/FrameRouter.ts"

describe("the frame router's table of unanswered requests", () => {
  it.effect("has a cap per connection: past it a request is refused as busy, and an id in flight as a duplicate", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void)
      yield* router.attach(2, () => Effect.void)
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      for (let i = 0; i < MAX_IN_FLIGHT_PER_CLIENT; i++) assert.strictEqual(yield* router.submit(1, req(`r${i}`)), "accepted")
      assert.strictEqual(yield* router.submit(1, req("one-more")), "busy")
      assert.strictEqual(yield* router.submit(1, req("r0")), "duplicate")
      // Another connection has its own share.
      assert.strictEqual(yield* router.submit(2, req("r0")), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("counts the bytes unanswered requests hold: past the budget a request is busy, and an answer gives its bytes back", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void)
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      assert.strictEqual(yield* router.submit(1, req("a"), 600, 1000), "accepted")
      assert.strictEqual(yield* router.submit(1, req("b"), 500, 1000), "busy")
      assert.strictEqual(yield* router.submit(1, req("c"), 400, 1000), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("one client's connections share its byte budget, and a connection that goes gives back what its requests held", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      yield* router.attach(2, () => Effect.void, "203.0.113.9")
      yield* router.attach(3, () => Effect.void, "198.51.100.1")
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      assert.strictEqual(yield* router.submit(1, req("a"), 600, 1000, 1000), "accepted")
      // The same client on another socket: its own connection budget has room, the client's does not.
      assert.strictEqual(yield* router.submit(2, req("a"), 600, 1000, 1000), "busy")
      // Another client is untouched.
      assert.strictEqual(yield* router.submit(3, req("a"), 600, 1000, 1000), "accepted")
      yield* router.detach(1)
      assert.strictEqual(yield* router.submit(2, req("b"), 600, 1000, 1000), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("an address's budget comes back whole when its connections go, and a client number attached again starts afresh", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(1, req("a"), 900, 1000, 1000), "accepted")
      // The number attached again: the old connection's requests and bytes go with it.
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(1, req("a"), 900, 1000, 1000), "accepted")
      yield* router.detach(1)
      // Every connection of the address has gone: a new one has the whole budget.
      yield* router.attach(2, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(2, req("b"), 1000, 1000, 1000), "accepted")
      assert.strictEqual(yield* router.submit(2, req("c"), 1, 1000, 1000), "busy")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))
})
