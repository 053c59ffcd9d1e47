/**
 * All method handlers as one layer for the RPC server.
 */
import * as Effect from "effect/Effect"
import { GatewayRpcs } from "../../protocol/methods.ts"
import * as Core from "./core.ts"
import * as Devices from "./devices.ts"
import * as Nodes from "./nodes.ts"

export const layer = GatewayRpcs.toLayer(
  Effect.gen(function*() {
    return GatewayRpcs.of({ ...(yield* Core.handlers), ...(yield* Devices.handlers), ...(yield* Nodes.handlers) })
  })
)
