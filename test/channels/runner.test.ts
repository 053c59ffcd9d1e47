import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as ChannelRunnerLive from "../../src/layers/ChannelRunnerLive.ts"
import { prometheusText } from "../../src/observability/metrics.ts"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
})

describe("channel runner", () => {
  it.effect("restarts a failing channel with exponential backoff and keeps its last error", () =>
    Effect.gen(function*() {
      let runs = 0
      const runner = yield* ChannelRunnerLive.make([{
        id: "flaky",
        label: "Flaky",
        enabled: true,
        run: Effect.suspend(() => Effect.fail(new Error(`boom ${++runs}`)))
      }])
      yield* settle
      assert.strictEqual(runs, 1)
      assert.deepStrictEqual(yield* runner.status, [{ id: "flaky", label: "Flaky", enabled: true, running: false, lastError: "boom 1", details: undefined }])
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(runs, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(runs, 2)
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(runs, 2)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(runs, 3)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(runs, 4)
      assert.strictEqual((yield* runner.status)[0]!.lastError, "boom 4")
      yield* runner.restart("flaky")
      yield* settle
      assert.strictEqual(runs, 5)
    }))

  it.effect("a channel that dies is restarted too, a running one reports running, and an unknown one is refused", () =>
    Effect.gen(function*() {
      let dies = 0
      const runner = yield* ChannelRunnerLive.make([
        { id: "dies", label: "Dies", enabled: true, run: Effect.suspend(() => Effect.die(new Error(`defect ${++dies}`))) },
        { id: "steady", label: "Steady", enabled: true, run: Effect.never },
        { id: "off", label: "Off", enabled: false, run: Effect.die("never started") }
      ])
      yield* settle
      yield* TestClock.adjust("1 second")
      assert.strictEqual(dies, 2)
      const status = yield* runner.status
      assert.deepInclude(status[0]!, { running: false, lastError: "defect 2" })
      assert.deepInclude(status[1]!, { running: true })
      assert.deepInclude(status[2]!, { enabled: false, running: false })
      const error = yield* Effect.flip(runner.restart("nope"))
      assert.strictEqual(error.reason._tag, "ChannelUnknown")
    }))

  it("backs off from 1 s, doubling, up to 5 minutes", () => {
    assert.deepStrictEqual([0, 1, 2, 3, 8, 9, 50].map(ChannelRunnerLive.backoffMs), [1000, 2000, 4000, 8000, 256_000, 300_000, 300_000])
  })
})

describe("channel state metric", () => {
  it.effect("gatehouse_channel_up is 1 while a channel runs and 0 while it waits to restart or is disabled", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let runs = 0
      yield* ChannelRunnerLive.make([
        { id: "metered", label: "Metered", enabled: true, run: Effect.suspend(() => ++runs === 1 ? Deferred.await(gate).pipe(Effect.andThen(Effect.fail(new Error("lost")))) : Effect.never) },
        { id: "off", label: "Off", enabled: false, run: Effect.never }
      ])
      yield* settle
      const up = (channel: string) => {
        const m = new RegExp(`^gatehouse_channel_up\\{channel="${channel}"\\} (\\S+)$`, "m").exec(prometheusText())
        return m === null ? undefined : Number(m[1])
      }
      assert.strictEqual(up("metered"), 1)
      assert.strictEqual(up("off"), 0)
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.strictEqual(up("metered"), 0)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(up("metered"), 1)
    }))
})
