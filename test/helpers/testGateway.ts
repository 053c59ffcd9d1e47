import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Env } from "../../src/config/paths.ts"
import type { Overrides } from "../../src/config/resolve.ts"
import * as Gateway from "../../src/gateway.ts"
import * as ListenerMemory from "../../src/layers/ListenerMemory.ts"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { makeMemoryConn } from "./memoryConn.ts"
import { tempDir } from "./tempDirs.ts"

export const TEST_TOKEN = "test-token-0123456789abcdef"

export const tempHome = () => tempDir("gatehouse-test-")

export const testEnv = (home = tempHome()) => ({ HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw"), OPENCLAW_DISABLE_BONJOUR: "1" })

// Info logs of in-process gateways would drown the test report; warnings and errors still show.
const quietLogs = Layer.succeed(References.MinimumLogLevel, "Warn")

export const testConfigLayer = (overrides: Overrides = {}, env: Env = testEnv()) =>
  Layer.merge(
    Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, token: Redacted.make(TEST_TOKEN), ...overrides }, env)),
    quietLogs
  )

/** A whole gateway on in-memory connections (`openMemory`) and in-memory pairing stores. */
export const coreLayer = <E = never>(overrides: Overrides = {}, env: Env = testEnv(), swaps: Gateway.Swaps<E> = {}) => {
  const listener = ListenerMemory.layer
  return Gateway.layerDefault<E>({ listener, pairingStores: PairingStoreMemory.layer(), ...swaps }).pipe(
    Layer.provideMerge(listener),
    Layer.provideMerge(testConfigLayer(overrides, env))
  )
}

/** A whole gateway on a real loopback port with file state, as the daemon runs it. */
export const serverLayer = <E = never>(overrides: Overrides = {}, env: Env = testEnv(), swaps: Gateway.Swaps<E> = {}) =>
  Gateway.layerDefault<E>(swaps).pipe(Layer.provideMerge(testConfigLayer(overrides, env)))

/** Hands a new in-memory connection to the gateway of `coreLayer`. */
export const openMemory = (options?: Parameters<typeof makeMemoryConn>[0]) =>
  Effect.gen(function*() {
    const m = yield* makeMemoryConn(options)
    const fiber = yield* ListenerMemory.MemoryListener.use((l) => l.accept(m.conn))
    return { ...m, fiber }
  })

export const connectParams = (overrides: Record<string, unknown> = {}) => ({
  minProtocol: 4,
  maxProtocol: 4,
  client: { id: "cli", version: "2026.9.6", platform: "linux", deviceFamily: "Linux", mode: "cli", instanceId: "i-1" },
  caps: [],
  auth: { token: TEST_TOKEN },
  role: "operator",
  scopes: ["operator.read"],
  ...overrides
})

/** A temp home whose openclaw.json holds `doc`. */
export const homeWithConfig = (doc: unknown) => {
  const home = tempHome()
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return testEnv(home)
}
