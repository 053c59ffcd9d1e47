/**
 * The gateway as one Layer: config, auth, the connection hub, the RPC server with
 * its handlers behind the Authorize middleware, the listener, the periodic
 * broadcasts, and the profile lock. `layer` is production; `layerFromConfig`
 * takes any GatewayConfig (tests, embedding).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RpcServer from "effect/rpc/RpcServer"
import type { Overrides } from "../config/resolve.ts"
import * as AuthorizeLive from "../layers/AuthorizeLive.ts"
import * as Broadcasts from "../layers/Broadcasts.ts"
import * as RpcFrameProtocol from "../layers/RpcFrameProtocol.ts"
import * as WsServer from "../layers/WsServer.ts"
import { GatewayRpcs } from "../protocol/methods.ts"
import { Auth } from "../services/Auth.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { DevicePairing } from "../services/DevicePairing.ts"
import { NodePairingStore } from "../services/NodePairingStore.ts"
import { NodeRegistry } from "../services/NodeRegistry.ts"
import { PairingStore } from "../services/PairingStore.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { GatewayInfo } from "../services/GatewayInfo.ts"
import { HostIdentity } from "../services/HostIdentity.ts"
import * as Methods from "./methods/layer.ts"
import { acquireProfileLock } from "./profileLock.ts"
import { ensureToken, refuseUnsafe } from "./startupChecks.ts"

const Startup = Layer.effectDiscard(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    yield* acquireProfileLock(config.paths.stateDir, config.port.value, yield* Clock.currentTimeMillis)
    yield* ensureToken
    yield* refuseUnsafe
    for (const key of config.file.unknownKeys) {
      yield* Effect.logWarning(`config ${config.paths.configPath}: key "${key}" is not used by gatehouse (ignored)`)
    }
  })
)

const Handlers = Layer.mergeAll(Methods.layer, AuthorizeLive.layer)

const Rpc = RpcServer.layer(GatewayRpcs, { disableTracing: true, concurrency: "unbounded" }).pipe(Layer.provide(Handlers))

/**
 * Everything but the listener and the pairing stores: what a connection program
 * needs to run. Tests drive connections on it in memory; `layerFromConfig` adds
 * the real socket and the file store.
 */
export const layerCore = Layer.mergeAll(Rpc, Broadcasts.layer).pipe(
  Layer.provideMerge(RpcFrameProtocol.layer),
  Layer.provideMerge(Layer.mergeAll(Auth.layer, GatewayInfo.layer, HostIdentity.layer, NodeRegistry.layer)),
  Layer.provideMerge(Layer.mergeAll(DevicePairing.layer, RateLimiter.layer)),
  Layer.provideMerge(ConnectionHub.layer)
)

/** The whole gateway, given a GatewayConfig. Provides `GatewayServer` (its bound host, port and URL). */
export const layerFromConfig = WsServer.layer.pipe(
  Layer.provideMerge(layerCore),
  Layer.provideMerge(Layer.mergeAll(PairingStore.layerFile, NodePairingStore.layerFile)),
  Layer.provideMerge(Startup)
)

/** The gateway for a process: config from flags, `process.env` and the state dir. */
export const layer = (overrides: Overrides) => layerFromConfig.pipe(Layer.provideMerge(GatewayConfig.layer(overrides)))
