/**
 * Discovery that follows config reloads: wraps the Discovery the config in force asks
 * for (mDNS per `discovery.mdns.mode`, or disabled) and, when `discovery.*` changes,
 * closes the current one (its advertiser sends goodbyes, as at shutdown) and builds the
 * new one in a fresh child scope, publishing the last endpoint to it again. So
 * off ↔ minimal ↔ full and the interface list apply without a restart.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { EffectiveConfig } from "../config/resolve.ts"
import * as DiscoveryDisabled from "./DiscoveryDisabled.ts"
import { Discovery, type DiscoveryShape, type PublishedEndpoint } from "../services/Discovery.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"

/** The Discovery layer for a config: built once per distinct `discovery.*`. */
export type DiscoveryFactory = (config: EffectiveConfig) => Layer.Layer<Discovery>

/** Discovery built by `factory` from the config in force, rebuilt whenever `discovery.*` changes. */
export const layer = (factory: DiscoveryFactory): Layer.Layer<Discovery, never, GatewayConfig> =>
  Layer.effect(
    Discovery,
    Effect.gen(function*() {
      const { config, live } = yield* GatewayConfig
      const outer = yield* Effect.scope
      const buildLayer = (layer: Layer.Layer<Discovery>) =>
        Effect.gen(function*() {
          const scope = yield* Scope.fork(outer)
          const context = yield* Layer.buildWithScope(layer, scope).pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
          return { scope, service: Context.get(context, Discovery) }
        })
      // A rebuild that dies leaves discovery off (logged) rather than a closed service in force.
      const build = (c: EffectiveConfig) =>
        buildLayer(factory(c)).pipe(Effect.catchCause((cause) =>
          Effect.andThen(
            Effect.logError(`discovery could not start, it stays off until discovery.* changes: ${Cause.pretty(cause)}`),
            buildLayer(DiscoveryDisabled.layer)
          )
        ))
      let current = yield* build(config)
      let key = keyOf(config)
      let published: PublishedEndpoint | undefined
      // One swap at a time, and no publish lands on a service that is being closed.
      const lock = yield* Semaphore.make(1)

      yield* SubscriptionRef.changes(live).pipe(
        Stream.runForEach(({ config: next }) =>
          lock.withPermits(1)(Effect.gen(function*() {
            const nextKey = keyOf(next)
            if (nextKey === key) return
            key = nextKey
            // Close first: the old advertiser's goodbyes go out before the new one probes the same names.
            yield* Scope.close(current.scope, Exit.void)
            current = yield* build(next)
            if (published !== undefined) yield* current.service.publish(published)
            yield* Effect.logInfo(`discovery restarted: config changed (mDNS ${next.discovery.mdnsMode.value})`)
          }))
        ),
        Effect.forkScoped
      )

      return Discovery.of({
        get mode() {
          return current.service.mode
        },
        browse: (timeoutMs) => Effect.suspend(() => current.service.browse(timeoutMs)),
        advertised: Effect.suspend(() => current.service.advertised),
        publish: (endpoint) =>
          lock.withPermits(1)(Effect.suspend(() => {
            published = endpoint
            return current.service.publish(endpoint)
          })),
        state: Effect.suspend(() => current.service.state)
      } satisfies DiscoveryShape)
    })
  )

// What a rebuild is for: every resolved `discovery.*` setting.
const keyOf = (c: EffectiveConfig) => JSON.stringify(c.discovery)
