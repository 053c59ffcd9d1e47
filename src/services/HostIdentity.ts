/**
 * HostIdentity: the gateway host's own Ed25519 device identity,
 * `<stateDir>/identity/gateway.json`, loaded (or created) when the gateway
 * starts. It is not the CLI's: removing the CLI's device never touches it.
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
      return yield* loadOrCreateIdentity(config.paths.stateDir, "gateway").pipe(Effect.orDie)
    })
  )
}
