/**
 * The gateway's periodic broadcasts: `tick` every 30 s (the clients' keepalive)
 * and `health` every 60 s, each in a fiber of the caller's scope.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { HEALTH_INTERVAL_MS, TICK_INTERVAL_MS } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { GatewayInfo } from "../services/GatewayInfo.ts"

/** Starts both broadcasts; they stop when the scope closes. */
export const runBroadcasts: Effect.Effect<void, never, ConnectionHub | GatewayInfo | Scope.Scope> = Effect.gen(function*() {
  const hub = yield* ConnectionHub
  const info = yield* GatewayInfo
  const tick = Effect.flatMap(Clock.currentTimeMillis, (ts) => hub.broadcast("tick", { ts }, { dropIfSlow: true }))
  const health = Effect.gen(function*() {
    const summary = yield* info.health
    const stateVersion = yield* hub.bumpHealth
    yield* hub.broadcast("health", summary, { dropIfSlow: true, stateVersion })
  })
  yield* Effect.forkScoped(every(TICK_INTERVAL_MS, tick))
  yield* Effect.forkScoped(every(HEALTH_INTERVAL_MS, health))
})

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// Runs `effect` once every `ms`, the first time `ms` after start.
const every = <E, R>(ms: number, effect: Effect.Effect<void, E, R>) =>
  Effect.forever(Effect.andThen(Effect.sleep(ms), effect))
