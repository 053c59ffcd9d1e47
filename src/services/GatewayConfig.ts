/**
 * GatewayConfig: the effective configuration of this gateway, resolved once at
 * start-up, plus `secrets`, which re-reads the config file and state dir every
 * time it runs so a rotated token takes effect without a restart.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ConfigError } from "../config/errors.ts"
import { loadConfigFile } from "../config/file.ts"
import { checkProfileName, type Env, profilePaths } from "../config/paths.ts"
import {
  type EffectiveConfig,
  type Overrides,
  resolveBindHost,
  resolveConfig,
  resolveSecrets,
  type Secrets
} from "../config/resolve.ts"

export interface GatewayConfigShape {
  /** The effective config with the source of each setting. */
  readonly config: EffectiveConfig
  /** The address the gateway listens on. */
  readonly host: string
  /** The shared secrets in force now (re-resolved on every call). */
  readonly secrets: Effect.Effect<Secrets, ConfigError>
}

export class GatewayConfig extends Context.Service<GatewayConfig, GatewayConfigShape>()(
  "gatehouse/services/GatewayConfig"
) {
  /** Resolves the config from flags, the given environment and the files under the state dir. */
  static readonly make = (overrides: Overrides, env: Env) =>
    Effect.gen(function*() {
      const profile = overrides.dev === true ? "dev" : overrides.profile ?? env.OPENCLAW_PROFILE
      if (overrides.dev === true && overrides.profile !== undefined && overrides.profile !== "dev") {
        return yield* new ConfigError({ reason: "invalid", message: "--dev and --profile cannot be combined (--dev is --profile dev)" })
      }
      if (profile !== undefined) {
        const problem = checkProfileName(profile)
        if (problem !== undefined) return yield* new ConfigError({ reason: "invalid", message: problem })
      }
      const paths = profilePaths(profile, env)
      const file = yield* loadConfigFile(paths.configPath)
      const config = resolveConfig(paths, file, overrides, env)
      if (typeof config === "string") return yield* new ConfigError({ reason: "invalid", message: config })
      const host = resolveBindHost(config.bind.value, config.customHost.value, env)
      if (typeof host !== "string") return yield* new ConfigError({ reason: "refused", message: host.error })
      const secrets = loadConfigFile(paths.configPath).pipe(
        Effect.map((current) => resolveSecrets(paths, current, overrides, env))
      )
      return GatewayConfig.of({ config, host, secrets })
    })

  /** The config layer for a process: flags plus `process.env`. */
  static readonly layer = (overrides: Overrides) => Layer.effect(GatewayConfig, GatewayConfig.make(overrides, process.env))
}
