import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import * as MemoryGiveBack from "../../src/layers/MemoryGiveBack.ts"
import {
  type GiveBackState,
  initialState,
  MIN_GROWTH_BYTES,
  MIN_INTERVAL_MS,
  next,
  QUIET_FOR_MS,
  QUIET_UTILIZATION,
  shouldGiveBack
} from "../../src/observability/memoryGiveBack.ts"

const MiB = 1024 * 1024

const Step = Schema.Struct({
  waitMs: Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 5_000 })),
  rssMiB: Schema.Int.check(Schema.isBetween({ minimum: 40, maximum: 400 })),
  busy: Schema.Boolean,
  // What a give-back leaves resident, as a share of the resident set before it.
  keptPercent: Schema.Int.check(Schema.isBetween({ minimum: 40, maximum: 100 }))
})

describe("when the daemon gives memory back", () => {
  it.prop(
    "first right after start-up, then only once quiet for 5 s, never twice within the interval, and always once grown past the low-water mark",
    { steps: Schema.Array(Step).check(Schema.isMinLength(1), Schema.isMaxLength(40)) },
    ({ steps }) => {
      let state: GiveBackState = initialState
      let nowMs = 0
      let lastAt: number | undefined
      let lowWater: number | undefined
      let quietSince: number | undefined
      for (const step of steps) {
        nowMs += step.waitMs
        const quietLongEnough = !step.busy && quietSince !== undefined && nowMs - quietSince >= QUIET_FOR_MS
        const sample = { nowMs, rss: step.rssMiB * MiB, utilization: step.busy ? 0.5 : 0.01 }
        const go = shouldGiveBack(state, sample)
        if (lastAt === undefined) assert.isTrue(go, "the first sample gives back, busy or not")
        else {
          if (step.busy) assert.isFalse(go, "never while busy after the first")
          if (nowMs - lastAt < MIN_INTERVAL_MS) assert.isFalse(go, "never within the interval")
          if (!quietLongEnough) assert.isFalse(go, "never before the loop has been quiet for QUIET_FOR_MS")
        }
        if (quietLongEnough && lastAt !== undefined && nowMs - lastAt >= MIN_INTERVAL_MS && lowWater !== undefined) {
          assert.strictEqual(go, sample.rss - lowWater >= Math.max(MIN_GROWTH_BYTES, lowWater / 10))
        }
        const after = go ? Math.round((sample.rss * step.keptPercent) / 100) : undefined
        if (go) {
          lastAt = nowMs
          lowWater = after
        } else if (!step.busy && lowWater !== undefined) lowWater = Math.min(lowWater, sample.rss)
        quietSince = step.busy ? undefined : quietSince ?? nowMs
        state = next(state, sample, after)
      }
    },
    { arbitrary: { runs: 300 } }
  )

  it("the quiet threshold sits between an idle loop and a loaded one", () => {
    const grown: GiveBackState = { lowWaterRss: 70 * MiB, lastAtMs: 0, quietSinceMs: 0 }
    const at = Math.max(MIN_INTERVAL_MS, QUIET_FOR_MS)
    assert.isTrue(shouldGiveBack(grown, { nowMs: at, rss: 100 * MiB, utilization: 0.001 }))
    assert.isFalse(shouldGiveBack(grown, { nowMs: at, rss: 100 * MiB, utilization: QUIET_UTILIZATION }))
    assert.isFalse(shouldGiveBack({ ...grown, quietSinceMs: at - QUIET_FOR_MS + 1 }, { nowMs: at, rss: 100 * MiB, utilization: 0.001 }))
  })

  it.effect("the layer samples every 500 ms, gives back after start-up and again only once a load has gone", () =>
    Effect.gen(function*() {
      let rss = 100 * MiB
      let utilization = 0.3
      const gaveBack: Array<number> = []
      const probe: MemoryGiveBack.MemoryProbe = {
        sample: () => ({ rss, utilization }),
        giveBack: () => {
          gaveBack.push(rss)
          rss = 70 * MiB
          return rss
        }
      }
      yield* Effect.gen(function*() {
        yield* TestClock.adjust(499)
        assert.deepStrictEqual(gaveBack, [])
        yield* TestClock.adjust(1)
        assert.deepStrictEqual(gaveBack, [100 * MiB], "start-up's garbage, at the first sample, even with the loop still busy")
        // Load: the resident set grows, nothing is collected while busy.
        utilization = 0.9
        rss = 180 * MiB
        yield* TestClock.adjust(5_000)
        assert.strictEqual(gaveBack.length, 1)
        // A lull of a few seconds between bursts is not the load gone: nothing yet.
        utilization = 0.01
        yield* TestClock.adjust(4_500)
        assert.strictEqual(gaveBack.length, 1)
        utilization = 0.9
        yield* TestClock.adjust(500)
        // The load has gone: given back once the loop has been quiet for 5 s.
        utilization = 0.01
        yield* TestClock.adjust(5_000)
        assert.strictEqual(gaveBack.length, 1)
        yield* TestClock.adjust(500)
        assert.deepStrictEqual(gaveBack, [100 * MiB, 180 * MiB])
        // Quiet and not grown: nothing more.
        yield* TestClock.adjust(10_000)
        assert.strictEqual(gaveBack.length, 2)
      }).pipe(Effect.provide(MemoryGiveBack.layerWith(probe)))
    }))
})
