/**
 * The event-loop part of `health`, in the shape OpenClaw clients print as
 * "Gateway event loop: ok max=…ms p99=…ms util=… cpu=…": delay, loop
 * utilization and CPU over the last window of about a second, plus whether (and
 * since when) the loop is degraded. Windows roll when asked, never on a timer,
 * so an idle gateway does no work for it.
 */
import { type monitorEventLoopDelay, performance } from "node:perf_hooks"

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>

/** One window's figures, as `health.eventLoop` carries them. */
export interface EventLoopHealth {
  readonly degraded: boolean
  /** How long the loop has been degraded (ms), or null when it is not. */
  readonly degradedSinceMs: number | null
  readonly reasons: ReadonlyArray<string>
  readonly intervalMs: number
  readonly delayP99Ms: number
  readonly delayMaxMs: number
  readonly utilization: number
  readonly cpuCoreRatio: number
}

/** Thresholds past which a window counts as degraded. */
export const DEGRADED = { delayP99Ms: 500, utilization: 0.95, cpuCoreRatio: 0.95 } as const

const WINDOW_MS = 1000

/** A tracker over `histogram` (enabled by the caller): `sample(nowMs)` returns the last full window's figures. */
export const eventLoopTracker = (histogram: IntervalHistogram, startMs: number) => {
  let windowStart = startMs
  let elu = performance.eventLoopUtilization()
  let cpu = process.cpuUsage()
  let degradedFrom: number | null = null
  let last: EventLoopHealth | undefined
  const roll = (nowMs: number): EventLoopHealth => {
    const intervalMs = Math.max(1, nowMs - windowStart)
    const eluNow = performance.eventLoopUtilization()
    const cpuNow = process.cpuUsage()
    const used = performance.eventLoopUtilization(eluNow, elu).utilization
    const cpuMs = (cpuNow.user - cpu.user + cpuNow.system - cpu.system) / 1000
    const figures = {
      intervalMs,
      delayP99Ms: histogram.count === 0 ? 0 : round(histogram.percentile(99) / 1e6),
      delayMaxMs: histogram.count === 0 ? 0 : round(histogram.max / 1e6),
      utilization: round3(used),
      cpuCoreRatio: round3(cpuMs / intervalMs)
    }
    histogram.reset()
    windowStart = nowMs
    elu = eluNow
    cpu = cpuNow
    // A window shorter than a second (the first one, asked for right after start) is too short to judge.
    const reasons = intervalMs < WINDOW_MS ? [] : [
      ...(figures.delayP99Ms >= DEGRADED.delayP99Ms ? ["event_loop_delay"] : []),
      ...(figures.utilization >= DEGRADED.utilization ? ["event_loop_utilization"] : []),
      ...(figures.cpuCoreRatio >= DEGRADED.cpuCoreRatio ? ["cpu"] : [])
    ]
    degradedFrom = reasons.length === 0 ? null : degradedFrom ?? nowMs
    return { degraded: reasons.length > 0, degradedSinceMs: degradedFrom === null ? null : nowMs - degradedFrom, reasons, ...figures }
  }
  return {
    sample: (nowMs: number): EventLoopHealth => {
      if (last === undefined || nowMs - windowStart >= WINDOW_MS) last = roll(nowMs)
      return last
    }
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100
const round3 = (x: number) => Math.round(x * 1000) / 1000
