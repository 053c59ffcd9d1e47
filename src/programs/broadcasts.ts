/**
 * The gateway's periodic broadcasts: `tick` every 30 s (the clients' keepalive)
 * and `health` every 60 s, each in a fiber of the caller's scope.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { HEALTH_INTERVAL_MS, TICK_INTERVAL_MS } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { GatewayInfo, healthFor } from "../services/GatewayInfo.ts"
import { satisfies } from "../protocol/scopes.ts"

/** Starts both broadcasts; they stop when the scope closes. */
export const runBroadcasts: Effect.Effect<void, never, ConnectionHub | GatewayInfo | Scope.Scope> = Effect.gen(function*() {
  const hub = yield* ConnectionHub
  const info = yield* GatewayInfo
  const tick = Effect.flatMap(Clock.currentTimeMillis, (ts) => hub.broadcast("tick", { ts }, { dropIfSlow: true }))
  const health = Effect.gen(function*() {
    const summary = yield* info.health
    const stateVersion = yield* hub.bumpHealth
    // The event-loop figures only to those who may read the gateway's state (see healthFor).
    const reads = (c: { readonly principal: { readonly scopes: ReadonlyArray<string> } }) => satisfies(c.principal.scopes, "operator.read")
    yield* hub.broadcast("health", summary, { dropIfSlow: true, stateVersion, filter: reads })
    yield* hub.broadcast("health", healthFor(summary, false), { dropIfSlow: true, stateVersion, filter: (c) => !reads(c) })
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
