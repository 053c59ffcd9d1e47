/**
 * Embedding gatehouse in another Effect program: run the gateway Layer next to
 * your own code, call it with the client, and let the scope shut it down.
 *
 *   node examples/embed.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Gateway, GatewayClient, GatewayConfig, GatewayServer, TransportDirect } from "../src/index.ts"

const token = Redacted.make("embedded-example-token-5d1e")
const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-embed-"))

// Your own config source: here a fixed port-0 loopback gateway with its state in a temp dir.
const Config = Layer.effect(
  GatewayConfig,
  GatewayConfig.make({ port: 0, token }, { ...process.env, OPENCLAW_STATE_DIR: stateDir })
)

const program = Effect.gen(function*() {
  const server = yield* GatewayServer
  yield* Console.log(`embedded gateway listening on ${server.url}`)
  const { payload } = yield* GatewayClient.callGateway({ url: server.url, token }, "health")
  yield* Console.log(`health: ${(payload as { ok: boolean }).ok ? "OK" : "not ok"}`)
})

program.pipe(
  // The client reaches the gateway over a direct socket.
  Effect.provide([Gateway.layerDefault().pipe(Layer.provide(Config)), TransportDirect.layer]),
  // The state dir holds the gateway's token and keys: remove it once the gateway is down.
  Effect.ensuring(Effect.sync(() => rmSync(stateDir, { recursive: true, force: true }))),
  NodeRuntime.runMain
)
