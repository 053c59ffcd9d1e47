/**
 * GatewayConfig: the effective configuration of this gateway. `config` is what
 * the gateway started with (port, bind, TLS: what a restart applies); `live` holds
 * the last good config read from the file, the shared secrets in force and their
 * generation, and what an edit left waiting for a restart. Consumers of keys that
 * change live read `live` per use; `reload` re-reads the files (the watcher calls
 * it on every change and poll); `refresh` re-reads them only when their stat says
 * they may have changed (Auth, before every shared-secret check).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { ConfigError } from "../config/errors.ts"
import { loadConfigFile } from "../config/file.ts"
import { stampFiles } from "../config/fileStamp.ts"
import { checkProfileName, type Env, profilePaths } from "../config/paths.ts"
import { planReload, refusedLive, secretsChanged } from "../config/reloadPlan.ts"
import {
  type EffectiveConfig,
  generatedTokenPath,
  type Overrides,
  resolveBindHost,
  resolveConfig,
  resolveSecretsStrict,
  type Secrets
} from "../config/resolve.ts"

/** The config in force now, as the file watcher last read it. */
export interface LiveConfig {
  /** The last good config (the start-up config until the file changes). */
  readonly config: EffectiveConfig
  /** The shared secrets in force. */
  readonly secrets: Secrets
  /** Bumped whenever the token or password in force changes; sessions record the one they authenticated with. */
  readonly secretGeneration: number
  /**
   * Bumped whenever who a proxy may vouch for changes (auth mode, trusted-proxy settings, Tailscale identity,
   * trusted proxies); sessions a proxy or Tailscale vouched for record the one they were admitted under.
   */
  readonly identityGeneration: number
  /** Keys changed in the file since start that only a restart applies. */
  readonly restartNeeded: ReadonlyArray<string>
  /** Why the file on disk is not in force (the last good config is), for the log and `status`. */
  readonly invalid: string | undefined
}

/** What one reload did. */
export interface ReloadOutcome {
  readonly live: LiveConfig
  /** Keys applied by this reload. */
  readonly applied: ReadonlyArray<string>
  /** Whether the shared secret changed. */
  readonly rotated: boolean
  /** Whether the file was invalid this time (and newly so). */
  readonly newlyInvalid: boolean
  /** Restart-only keys first seen changed by this reload. */
  readonly newlyRestart: ReadonlyArray<string>
}

export interface GatewayConfigShape {
  /** The effective config the gateway started with, with the source of each setting. */
  readonly config: EffectiveConfig
  /** The address the gateway listens on. */
  readonly host: string
  /** The shared secrets in force now (the files are re-read first, so a rotation takes effect at once). */
  readonly secrets: Effect.Effect<Secrets, ConfigError>
  /** The config in force; changes whenever a reload applies something. */
  readonly live: SubscriptionRef.SubscriptionRef<LiveConfig>
  /** Re-reads the config file and the token file; an invalid file leaves the last good config in force. */
  readonly reload: Effect.Effect<ReloadOutcome>
  /**
   * `reload` when a file may have changed since the last read (its stat differs, or it changed too close to that
   * read to tell); otherwise the config in force as it is, without reading. For per-connection checks.
   */
  readonly refresh: Effect.Effect<ReloadOutcome>
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
      const startSecrets = resolveSecretsStrict(paths, file, overrides, env)
      if (typeof startSecrets === "string") return yield* new ConfigError({ reason: "invalid", message: startSecrets })
      const live = yield* SubscriptionRef.make<LiveConfig>({
        config,
        secrets: startSecrets,
        secretGeneration: 0,
        identityGeneration: 0,
        restartNeeded: [],
        invalid: undefined
      })
      const lock = yield* Semaphore.make(1)
      const readFiles: Effect.Effect<ReloadOutcome> = Effect.gen(function*() {
        const before = yield* SubscriptionRef.get(live)
        const read = yield* Effect.result(loadConfigFile(paths.configPath))
        const resolved = read._tag === "Failure" ? read.failure.message : resolveConfig(paths, read.success, overrides, env)
        // A token file that cannot be read keeps the secrets in force (as an invalid config does), never "no token".
        const fresh = typeof resolved === "string" ? undefined : resolveSecretsStrict(paths, resolved.file, overrides, env)
        const refused = typeof resolved === "string" || fresh === undefined || typeof fresh === "string" ? undefined : refusedLive(resolved, fresh, host)
        if (typeof resolved === "string" || fresh === undefined || typeof fresh === "string" || refused !== undefined) {
          const problem = typeof resolved === "string" ? resolved : typeof fresh === "string" ? fresh : `config ${paths.configPath} was not applied: ${refused}`
          const newlyInvalid = before.invalid !== problem
          const kept: LiveConfig = { ...before, invalid: problem }
          if (newlyInvalid) yield* SubscriptionRef.set(live, kept)
          return { live: kept, applied: [], rotated: false, newlyInvalid, newlyRestart: [] }
        }
        const next = resolved
        const secrets = fresh
        const rotated = secretsChanged(before.secrets, secrets)
        const plan = planReload(before.config, next)
        // Restart-only keys are compared with what the gateway started with, so an edit undone is no longer reported.
        const restartNeeded = planReload(config, next).restart
        const after: LiveConfig = {
          config: next,
          secrets: rotated ? secrets : before.secrets,
          secretGeneration: rotated ? before.secretGeneration + 1 : before.secretGeneration,
          identityGeneration: vouchingChanged(before.config, next) ? before.identityGeneration + 1 : before.identityGeneration,
          restartNeeded,
          invalid: undefined
        }
        const changed = rotated || after.identityGeneration !== before.identityGeneration || plan.live.length > 0 || before.invalid !== undefined ||
          restartNeeded.join() !== before.restartNeeded.join() || JSON.stringify(next.file.document) !== JSON.stringify(before.config.file.document)
        if (changed) yield* SubscriptionRef.set(live, after)
        return {
          live: changed ? after : before,
          applied: plan.live,
          rotated,
          newlyInvalid: false,
          newlyRestart: restartNeeded.filter((k) => !before.restartNeeded.includes(k))
        }
      })
      // The stamp of both files as the last read found them, when they had settled before it: the same stamp now means
      // the same content, so the same outcome. Only set under the lock, beside the read it describes.
      const files = [paths.configPath, generatedTokenPath(paths)]
      let lastRead: string | undefined
      const stampThenRead = Effect.gen(function*() {
        // Taken before the read: a write after it changes the stamp, so it is never mistaken for what was read.
        const stamp = stampFiles(files, yield* Clock.currentTimeMillis)
        const outcome = yield* readFiles
        lastRead = stamp?.settled === true ? stamp.key : undefined
        return outcome
      })
      // One reload at a time, so two concurrent readers never both bump the generation.
      const reload: Effect.Effect<ReloadOutcome> = lock.withPermits(1)(stampThenRead)
      // The unchanged case takes no lock: `lastRead` only ever describes a completed read, and a read still running
      // holds files with that same stamp, so the config in force is already what it will find.
      const refresh: Effect.Effect<ReloadOutcome> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const stamp = stampFiles(files, now)
        if (stamp === undefined || !stamp.settled || stamp.key !== lastRead) return reload
        return Effect.map(SubscriptionRef.get(live), (current): ReloadOutcome => ({ live: current, applied: [], rotated: false, newlyInvalid: false, newlyRestart: [] }))
      })
      const secrets = Effect.map(reload, (r) => r.live.secrets)
      return GatewayConfig.of({ config, host, secrets, live, reload, refresh })
    })

  /** The config layer for a process: flags plus `process.env`. */
  static readonly layer = (overrides: Overrides) => Layer.effect(GatewayConfig, GatewayConfig.make(overrides, process.env))
}

// Whether a reload changes who a proxy or Tailscale may vouch for: then every session they vouched for ends.
const vouchingChanged = (before: EffectiveConfig, next: EffectiveConfig) =>
  before.authMode.value !== next.authMode.value ||
  JSON.stringify(before.proxyIdentity) !== JSON.stringify(next.proxyIdentity) ||
  JSON.stringify(before.trustedProxies) !== JSON.stringify(next.trustedProxies)
