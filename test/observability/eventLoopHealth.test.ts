import { assert, describe, it } from "@effect/vitest"
import type { monitorEventLoopDelay } from "node:perf_hooks"
import { DEGRADED, eventLoopTracker } from "../../src/observability/eventLoopHealth.ts"

// A histogram that reports what the test sets (in ns, as Node's does) and counts resets.
const fakeHistogram = () => {
  const h = { count: 1, p99Ns: 0, maxNs: 0, resets: 0 }
  const histogram = {
    get count() {
      return h.count
    },
    percentile: () => h.p99Ns,
    get max() {
      return h.maxNs
    },
    reset: () => {
      h.resets++
    }
  } as unknown as ReturnType<typeof monitorEventLoopDelay>
  return { h, histogram }
}

describe("the event-loop part of health", () => {
  it("reports a window's delay, and rolls at most once a second", () => {
    const { h, histogram } = fakeHistogram()
    h.p99Ns = 12_000_000
    h.maxNs = 30_000_000
    const tracker = eventLoopTracker(histogram, 0)
    const first = tracker.sample(1000)
    assert.strictEqual(first.delayP99Ms, 12)
    assert.strictEqual(first.delayMaxMs, 30)
    assert.strictEqual(first.intervalMs, 1000)
    assert.notInclude(first.reasons, "event_loop_delay")
    h.p99Ns = 900_000_000
    assert.strictEqual(tracker.sample(1500), first)
    assert.strictEqual(h.resets, 1)
  })

  it("says degraded, why and for how long while the delay stays past the threshold", () => {
    const { h, histogram } = fakeHistogram()
    h.p99Ns = (DEGRADED.delayP99Ms + 100) * 1e6
    h.maxNs = h.p99Ns
    const tracker = eventLoopTracker(histogram, 0)
    const first = tracker.sample(1000)
    assert.isTrue(first.degraded)
    assert.include(first.reasons, "event_loop_delay")
    assert.strictEqual(first.degradedSinceMs, 0)
    assert.strictEqual(tracker.sample(3000).degradedSinceMs, 2000)
    h.p99Ns = 1e6
    h.maxNs = 1e6
    assert.notInclude(tracker.sample(4000).reasons, "event_loop_delay")
  })

  it("reports zero delay before the histogram has a sample", () => {
    const { h, histogram } = fakeHistogram()
    h.count = 0
    h.p99Ns = Number.NaN
    const sample = eventLoopTracker(histogram, 0).sample(1000)
    assert.strictEqual(sample.delayP99Ms, 0)
    assert.strictEqual(sample.delayMaxMs, 0)
  })
})

describe("a window shorter than a second", () => {
  it("is reported but never judged degraded", () => {
    const { h, histogram } = fakeHistogram()
    h.p99Ns = (DEGRADED.delayP99Ms + 100) * 1e6
    h.maxNs = h.p99Ns
    const sample = eventLoopTracker(histogram, 0).sample(10)
    assert.strictEqual(sample.delayP99Ms, DEGRADED.delayP99Ms + 100)
    assert.isFalse(sample.degraded)
    assert.isNull(sample.degradedSinceMs)
  })
})
