/**
 * The daemon's memory give-back (policy in observability/memoryGiveBack.ts): a
 * fiber samples the resident set and the loop's utilization every 500 ms and,
 * when the policy says so, runs V8's memory-reducing full collection (the one
 * behind `gc({ flavor: "last-resort" })`: it compacts, shrinks the young
 * generation and returns free pages). Only `gatehouse gateway run` uses it: an
 * embedding app decides about its own process's collector.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { performance } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { initialState, next, SAMPLE_EVERY_MS, shouldGiveBack } from "../observability/memoryGiveBack.ts"

/** What the layer reads and does; `probeNode` is the real process, tests pass their own. */
export interface MemoryProbe {
  /** Resident set (bytes) and the loop's utilization since the previous call. */
  readonly sample: () => { readonly rss: number; readonly utilization: number }
  /** Gives memory back; returns the resident set afterwards. */
  readonly giveBack: () => number
}

type GcOptions = { readonly type: "major"; readonly execution: "sync"; readonly flavor: "last-resort" }

/** This process: `process.memoryUsage.rss()`, `performance.eventLoopUtilization()` and V8's collector. */
export const probeNode = (): MemoryProbe => {
  let elu = performance.eventLoopUtilization()
  let gc: ((options: GcOptions) => void) | undefined
  return {
    sample: () => {
      const now = performance.eventLoopUtilization()
      const utilization = performance.eventLoopUtilization(now, elu).utilization
      elu = now
      return { rss: process.memoryUsage.rss(), utilization }
    },
    giveBack: () => {
      // The collector's entry point, as `--expose-gc` provides it: already global when the process was started
      // with that flag, else taken from a fresh context once the flag is set (this changes nothing else).
      if (gc === undefined) {
        const global = (globalThis as { gc?: (options: GcOptions) => void }).gc
        if (global !== undefined) gc = global
        else {
          setFlagsFromString("--expose-gc")
          gc = runInNewContext("gc") as (options: GcOptions) => void
        }
      }
      gc({ type: "major", execution: "sync", flavor: "last-resort" })
      return process.memoryUsage.rss()
    }
  }
}

/** Samples every 500 ms for as long as the layer's scope is open. */
export const layerWith = (probe: MemoryProbe): Layer.Layer<never> =>
  Layer.effectDiscard(Effect.forkScoped(Effect.gen(function*() {
    let state = initialState
    while (true) {
      yield* Effect.sleep(SAMPLE_EVERY_MS)
      const nowMs = yield* Clock.currentTimeMillis
      const sample = { nowMs, ...probe.sample() }
      const rssAfter = shouldGiveBack(state, sample) ? probe.giveBack() : undefined
      state = next(state, sample, rssAfter)
    }
  })))

/** The daemon's give-back on this process. */
export const layer: Layer.Layer<never> = Layer.suspend(() => layerWith(probeNode()))
