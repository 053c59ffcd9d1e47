import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { backoffMs, superviseReconnect } from "../../src/programs/runNode.ts"

describe("node reconnect", () => {
  it("backs off 1 s, doubling, capped at 30 s", () => {
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6, 30].map(backoffMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
  })

  it.effect("waits by the backoff between attempts and starts over after a successful connect", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      const fiber = yield* Effect.forkChild(superviseReconnect(
        (connected) =>
          Effect.gen(function*() {
            attempts.push(yield* Clock.currentTimeMillis)
            if (attempts.length === 4) yield* connected
            return yield* Effect.fail("unreachable")
          }),
        () => Effect.void
      ))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("60 seconds")
      yield* Fiber.interrupt(fiber)
      // 0; +1 s; +2 s; +4 s (connects, so the count resets); +1 s; +2 s; +4 s; +8 s; +16 s; +30 s …
      assert.deepStrictEqual(attempts.slice(0, 9), [0, 1000, 3000, 7000, 8000, 10000, 14000, 22000, 38000])
      assert.strictEqual(attempts[9], 68000)
    }))

  it.effect("stops at the first failure it is told is hopeless, and fails with it", () =>
    Effect.gen(function*() {
      let attempts = 0
      const fiber = yield* Effect.forkChild(superviseReconnect(
        () => Effect.suspend(() => Effect.fail(++attempts < 3 ? "try again" : "hopeless")),
        () => Effect.void,
        (e) => e === "hopeless"
      ))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Effect.flip(Fiber.join(fiber)), "hopeless")
      assert.strictEqual(attempts, 3)
    }))
})
