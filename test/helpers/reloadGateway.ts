/** Test helpers for config hot reload: a gateway whose config file the test edits, and moving time until an edit applies. */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { TestClock } from "effect/testing"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Gateway from "../../src/gateway.ts"
import * as ListenerMemory from "../../src/layers/ListenerMemory.ts"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import { GatewayConfig, type LiveConfig } from "../../src/services/GatewayConfig.ts"
import { homeWithConfig, TEST_TOKEN } from "./testGateway.ts"

// A gateway on in-memory connections whose config file the test edits, with every log line captured.
export const reloadGateway = (doc: unknown, logged: Array<string>, overrides: Parameters<typeof GatewayConfig.make>[0] = {}) => {
  const env = homeWithConfig(doc)
  const listener = ListenerMemory.layer
  const layer = Gateway.layerDefault({ listener, pairingStores: PairingStoreMemory.layer() }).pipe(
    Layer.provideMerge(listener),
    Layer.provideMerge(Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, token: Redacted.make(TEST_TOKEN), ...overrides }, env))),
    Layer.provideMerge(Logger.layer([Logger.make(({ message }) => void logged.push(String(message)))])),
    Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Info"))
  )
  const configPath = join(env.OPENCLAW_STATE_DIR, "openclaw.json")
  return { layer, configPath, write: (next: unknown) => writeFileSync(configPath, typeof next === "string" ? next : JSON.stringify(next)) }
}

/** Moves gateway time (the watcher's poll and debounce) until the config in force satisfies `done`. */
export const settle = (done: (l: LiveConfig) => boolean) =>
  Effect.gen(function*() {
    const { live } = yield* GatewayConfig
    for (let i = 0; i < 40; i++) {
      if (done(yield* SubscriptionRef.get(live))) return
      yield* TestClock.adjust("500 millis")
      // The reload reads a real file: give the I/O a turn of the event loop (gateway time does not move).
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    assert.fail("the config edit did not take effect within 20 s of gateway time")
  })

