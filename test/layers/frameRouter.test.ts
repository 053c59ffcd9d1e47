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
})
