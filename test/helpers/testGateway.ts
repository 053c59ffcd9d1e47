import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Overrides } from "../../src/config/resolve.ts"
import * as Gateway from "../../src/programs/Gateway.ts"
import { serveConnection } from "../../src/programs/serveConnection.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { NodePairingStore } from "../../src/services/NodePairingStore.ts"
import { PairingStore } from "../../src/services/PairingStore.ts"
import { makeMemoryConn } from "./memoryConn.ts"

export const TEST_TOKEN = "test-token-0123456789abcdef"

export const tempHome = () => mkdtempSync(join(tmpdir(), "gatehouse-test-"))

export const testEnv = (home = tempHome()) => ({ HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw") })

// Info logs of in-process gateways would drown the test report; warnings and errors still show.
const quietLogs = Layer.succeed(References.MinimumLogLevel, "Warn")

export const testConfigLayer = (overrides: Overrides = {}, env = testEnv()) =>
  Layer.merge(
    Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, token: Redacted.make(TEST_TOKEN), ...overrides }, env)),
    quietLogs
  )

export const coreLayer = (overrides: Overrides = {}, env = testEnv()) =>
  Gateway.layerCore.pipe(
    Layer.provideMerge(Layer.mergeAll(PairingStore.layerMemory(), NodePairingStore.layerMemory())),
    Layer.provideMerge(testConfigLayer(overrides, env))
  )

export const serverLayer = (overrides: Overrides = {}, env = testEnv()) =>
  Gateway.layerFromConfig.pipe(Layer.provideMerge(testConfigLayer(overrides, env)))

let clientIds = 1000

export const openMemory = (options?: Parameters<typeof makeMemoryConn>[0]) =>
  Effect.gen(function*() {
    const m = yield* makeMemoryConn(options)
    const fiber = yield* Effect.forkScoped(serveConnection(m.conn, clientIds++))
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
