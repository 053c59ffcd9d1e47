/**
 * GatewayInfo: facts about the running gateway that methods report: when it
 * started, its health summary, and the last agent heartbeat (none yet).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

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
}

export interface GatewayInfoShape {
  readonly startedAtMs: number
  readonly uptimeMs: Effect.Effect<number>
  readonly health: Effect.Effect<HealthSummary>
  readonly lastHeartbeat: Effect.Effect<unknown>
}

export class GatewayInfo extends Context.Service<GatewayInfo, GatewayInfoShape>()("gatehouse/services/GatewayInfo") {
  static readonly layer = Layer.effect(
    GatewayInfo,
    Effect.gen(function*() {
      const startedAtMs = yield* Clock.currentTimeMillis
      const health = Effect.gen(function*() {
        const ts = yield* Clock.currentTimeMillis
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
          sessions: { path: "sessions", count: 0, recent: [] }
        } satisfies HealthSummary
      })
      return GatewayInfo.of({
        startedAtMs,
        uptimeMs: Effect.map(Clock.currentTimeMillis, (now) => now - startedAtMs),
        health,
        lastHeartbeat: Effect.succeed(null)
      })
    })
  )
}
