/**
 * HostIdentity: the gateway host's own Ed25519 device identity, loaded (or
 * created) from the state dir when the gateway starts.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type DeviceIdentity, loadOrCreateIdentity } from "../identity/deviceIdentity.ts"
import { GatewayConfig } from "./GatewayConfig.ts"

export class HostIdentity extends Context.Service<HostIdentity, DeviceIdentity>()("gatehouse/services/HostIdentity") {
  static readonly layer = Layer.effect(
    HostIdentity,
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig
      return yield* loadOrCreateIdentity(config.paths.stateDir).pipe(Effect.orDie)
    })
  )
}
