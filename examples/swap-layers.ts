/**
 * Swapping gatehouse's services: the same gateway, with pairing state kept in
 * memory (nothing on disk), a stricter failed-login policy, and an Auth of your
 * own that admits a kiosk with a fixed token and read-only scopes. Every other
 * service keeps its embedded default.
 *
 *   node examples/swap-layers.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  AuthStatic,
  Gateway,
  GatewayClient,
  GatewayConfig,
  GatewayServer,
  PairingStore,
  PairingStoreMemory,
  RateLimiterMemory,
  TransportDirect
} from "../src/index.ts"

const kioskToken = Redacted.make("kiosk-token-2b7f")
const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-swap-"))

const Config = Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0 }, { ...process.env, OPENCLAW_STATE_DIR: stateDir }))

const MyGateway = Gateway.layerDefault({
  pairingStores: PairingStoreMemory.layer(),
  rateLimiter: RateLimiterMemory.layerWith({ maxFailures: 3, windowMs: 60_000, lockoutMs: 10 * 60_000 }),
  auth: AuthStatic.layer(new Map([[Redacted.value(kioskToken), { method: "token", role: "operator", scopes: ["operator.read"] }]]))
}).pipe(Layer.provide(Config))

const program = Effect.gen(function*() {
  const server = yield* GatewayServer
  yield* Console.log(`gateway with swapped layers listening on ${server.url}`)
  const { payload } = yield* GatewayClient.callGateway({ url: server.url, token: kioskToken }, "health")
  yield* Console.log(`kiosk health: ${(payload as { ok: boolean }).ok ? "OK" : "not ok"}`)
  const refused = yield* Effect.flip(GatewayClient.callGateway({ url: server.url, token: kioskToken }, "device.pair.list"))
  yield* Console.log(`kiosk device.pair.list: refused (${refused.message})`)
  const pairing = yield* PairingStore
  yield* Console.log(`paired devices in the in-memory store: ${(yield* pairing.list).paired.length}`)
})

program.pipe(
  Effect.provide([MyGateway, TransportDirect.layer]),
  // The state dir holds the gateway's token and keys: remove it once the gateway is down.
  Effect.ensuring(Effect.sync(() => rmSync(stateDir, { recursive: true, force: true }))),
  NodeRuntime.runMain
)
