/**
 * GatewayInfo: facts about the running gateway that methods report: when it
 * started, its health summary, the last agent heartbeat (none yet), and how the
 * process is doing (memory, event-loop delay) for `diagnostics.stability`.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { type EventLoopHealth, eventLoopTracker } from "../observability/eventLoopHealth.ts"

/** The `health` payload, shaped as OpenClaw clients read it. */
export interface HealthSummary {
  readonly ok: boolean
  readonly ts: number
  readonly durationMs: number
  readonly channels: Record<string, unknown>
  readonly channelOrder: ReadonlyArray<string>
  readonly channelLabels: Record<string, string>
  readonly heartbeatSeconds: number
  readonly defaultAgentId: string
  readonly agents: ReadonlyArray<unknown>
  readonly sessions: { readonly path: string; readonly count: number; readonly recent: ReadonlyArray<unknown> }
  /** The last second of the event loop (`openclaw health` prints it as "Gateway event loop: …"). */
  readonly eventLoop: EventLoopHealth
}

/**
 * The summary as `health` shows it to a caller: the event-loop figures (how
 * loaded the host is) only to those who may read the gateway's state
 * (`operator.read`); `health` itself is open to every connection.
 */
export const healthFor = (summary: HealthSummary, canRead: boolean): HealthSummary | Omit<HealthSummary, "eventLoop"> => {
  if (canRead) return summary
  const { eventLoop: _, ...rest } = summary
  return rest
}

/** How the gateway process is doing, sampled when asked. */
export interface ProcessVitals {
  readonly uptimeMs: number
  readonly rssBytes: number
  readonly heapUsedBytes: number
  readonly maxRssBytes: number
  /** Event-loop delay since start (ms). */
  readonly eventLoop: { readonly delayP50Ms: number; readonly delayP99Ms: number; readonly delayMaxMs: number }
}

export interface GatewayInfoShape {
  readonly startedAtMs: number
  readonly uptimeMs: Effect.Effect<number>
  readonly health: Effect.Effect<HealthSummary>
  readonly lastHeartbeat: Effect.Effect<unknown>
  readonly vitals: Effect.Effect<ProcessVitals>
}

export class GatewayInfo extends Context.Service<GatewayInfo, GatewayInfoShape>()("gatehouse/services/GatewayInfo") {
  static readonly layer = Layer.effect(
    GatewayInfo,
    Effect.gen(function*() {
      const startedAtMs = yield* Clock.currentTimeMillis
      // Sampled by Node itself every 20 ms; the histogram lives as long as the gateway.
      const delay = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const h = monitorEventLoopDelay({ resolution: 20 })
          h.enable()
          return h
        }),
        (h) => Effect.sync(() => h.disable())
      )
      // A second histogram, reset every window, for the recent figures `health` reports.
      const recent = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const h = monitorEventLoopDelay({ resolution: 20 })
          h.enable()
          return h
        }),
        (h) => Effect.sync(() => h.disable())
      )
      const loop = eventLoopTracker(recent, startedAtMs)
      // A pipe, not a generator: it runs for every `health` request.
      const health = Effect.map(Clock.currentTimeMillis, (ts) => {
        return {
          ok: true,
          ts,
          durationMs: 0,
          channels: {},
          channelOrder: [],
          channelLabels: {},
          heartbeatSeconds: 0,
          defaultAgentId: "main",
          agents: [],
          // Relative to the state dir: health goes to every client, and a local path is not theirs to see.
          sessions: { path: "sessions", count: 0, recent: [] },
          eventLoop: loop.sample(ts)
        } satisfies HealthSummary
      })
      const uptimeMs = Effect.map(Clock.currentTimeMillis, (now) => now - startedAtMs)
      const ms = (ns: number) => Math.round(ns / 10_000) / 100
      return GatewayInfo.of({
        startedAtMs,
        uptimeMs,
        health,
        lastHeartbeat: Effect.succeed(null),
        vitals: Effect.map(uptimeMs, (up) => {
          const memory = process.memoryUsage()
          return {
            uptimeMs: up,
            rssBytes: memory.rss,
            heapUsedBytes: memory.heapUsed,
            maxRssBytes: process.resourceUsage().maxRSS * 1024,
            eventLoop: {
              delayP50Ms: delay.count === 0 ? 0 : ms(delay.percentile(50)),
              delayP99Ms: delay.count === 0 ? 0 : ms(delay.percentile(99)),
              delayMaxMs: delay.count === 0 ? 0 : ms(delay.max)
            }
          }
        })
      })
    })
  )
}
