/**
 * The gateway's periodic broadcasts: `tick` every 30 s (the clients' keepalive)
 * and `health` every 60 s, as supervised fibers that end with the layer.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { HEALTH_INTERVAL_MS, TICK_INTERVAL_MS } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { GatewayInfo } from "../services/GatewayInfo.ts"

export const layer = Layer.effectDiscard(
  Effect.gen(function*() {
    const hub = yield* ConnectionHub
    const info = yield* GatewayInfo
    const tick = Effect.flatMap(Clock.currentTimeMillis, (ts) => hub.broadcast("tick", { ts }, { dropIfSlow: true }))
    const health = Effect.gen(function*() {
      const summary = yield* info.health
      const stateVersion = yield* hub.bumpHealth
      yield* hub.broadcast("health", summary, { dropIfSlow: true, stateVersion })
    })
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(tick, TICK_INTERVAL_MS), Schedule.spaced(TICK_INTERVAL_MS)))
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(health, HEALTH_INTERVAL_MS), Schedule.spaced(HEALTH_INTERVAL_MS)))
  })
)
