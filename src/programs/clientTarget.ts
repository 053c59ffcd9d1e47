/**
 * Which gateway a CLI command talks to, with which credentials. `--url` never
 * inherits credentials from config or environment (it fails before any network
 * I/O without `--token`/`--password`); otherwise the local gateway of the profile
 * is reached with the same config and state dir it uses, or `gateway.remote.*`
 * when `gateway.mode` is `remote`.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { ConfigError } from "../config/errors.ts"
import type { Env } from "../config/paths.ts"
import { resolveSecrets } from "../config/resolve.ts"
import { isLoopbackIp, isPrivateIp } from "../net/ip.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { forgetDeviceToken, loadDeviceToken, saveDeviceToken } from "../identity/deviceAuthStore.ts"
import { loadOrCreateIdentity } from "../identity/deviceIdentity.ts"
import type { TlsPin } from "../services/Transport.ts"
import { readCertificate } from "../tls/certificate.ts"
import { readLiveLock } from "./profileLock.ts"
import type { DeviceCredentials, Target } from "./gatewayClient.ts"
import { decidePin, type PinFlags } from "./tlsPin.ts"

export interface TargetFlags {
  readonly url: string | undefined
  readonly token: Redacted.Redacted<string> | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly profile: string | undefined
  readonly dev: boolean
}

/** A resolved target plus how it was chosen and the state dir holding this host's device identity. */
export interface ResolvedTarget extends Target {
  readonly origin: "flag" | "remote-config" | "local"
  readonly stateDir: string
  /** The pin the configuration gives a `wss://` target (`gateway.remote.tlsFingerprint`, or this host's own certificate). */
  readonly configuredPin?: TlsPin | undefined
}

/** Resolves where to connect; pure config work, no network I/O. */
export const resolveTarget = (flags: TargetFlags, env: Env): Effect.Effect<ResolvedTarget, ConfigError> =>
  Effect.gen(function*() {
    if (flags.url !== undefined) {
      if (!/^wss?:\/\//.test(flags.url)) {
        return yield* new ConfigError({ reason: "invalid", message: `--url must start with ws:// or wss://, got "${flags.url}"` })
      }
      if (flags.token === undefined && flags.password === undefined) {
        return yield* new ConfigError({
          reason: "invalid",
          message: "gateway url override requires explicit credentials\nFix: pass --token or --password (credentials from config or environment are never sent to an explicit --url)"
        })
      }
      yield* checkPlaintext(flags.url, env)
      const { config } = yield* localConfig(flags, env)
      return { url: flags.url, token: flags.token, password: flags.password, origin: "flag", stateDir: config.paths.stateDir }
    }
    const { config, host } = yield* localConfig(flags, env)
    if (config.mode.value === "remote" && config.remote.url !== undefined) {
      yield* checkPlaintext(config.remote.url, env)
      return {
        url: config.remote.url,
        token: flags.token ?? config.remote.token,
        password: flags.password ?? config.remote.password,
        origin: "remote-config",
        stateDir: config.paths.stateDir,
        configuredPin: config.remote.tlsFingerprint === undefined
          ? undefined
          : { fingerprint: config.remote.tlsFingerprint, pinnedBy: `gateway.remote.tlsFingerprint (${config.paths.configPath})` }
      }
    }
    const secrets = resolveSecrets(config.paths, config.file, {}, env)
    // The gateway always listens on loopback too (see WsServer), so this host's commands use it.
    const connectHost = host === "::" || host.includes(":") && isLoopbackIp(host) ? "[::1]" : "127.0.0.1"
    const useToken = config.authMode.value !== "password"
    // This host's gateway serves TLS: pin the certificate it keeps in the same state dir (or the user's).
    const tlsOn = config.tls.enabled.value || (yield* readLiveLock(config.paths.stateDir))?.tls === true
    const local = tlsOn
      ? yield* readCertificate(config.paths.stateDir, config.tls).pipe(
        Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: e.message }))
      )
      : undefined
    return {
      url: `${tlsOn ? "wss" : "ws"}://${connectHost}:${config.port.value}`,
      configuredPin: local === undefined ? undefined : { fingerprint: local.fingerprint, pinnedBy: `this host's gateway certificate (${local.certPath})` },
      token: flags.token ?? (useToken ? secrets.token?.value : undefined),
      password: flags.password ?? (useToken ? undefined : secrets.password?.value),
      origin: "local",
      stateDir: config.paths.stateDir
    }
  })

/**
 * Adds this host's device identity (created on first use) to a target, with the
 * stored device token (never for an explicit --url) and a place to keep new ones.
 */
export const withDevice = (target: ResolvedTarget, role = "operator") =>
  Effect.gen(function*() {
    const identity = yield* loadOrCreateIdentity(target.stateDir).pipe(
      Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: `device identity: ${e.message}` }))
    )
    const deviceToken = target.origin === "flag" ? undefined : yield* loadDeviceToken(target.stateDir, identity.deviceId, role, target.url)
    const device: DeviceCredentials = {
      identity,
      deviceToken,
      onIssued: (token, scopes) => saveDeviceToken(target.stateDir, identity.deviceId, role, token, scopes, target.url),
      onRejected: () => forgetDeviceToken(target.stateDir, identity.deviceId, role)
    }
    return { ...target, device }
  })

/** Adds the certificate pin a `wss://` target must present (see `decidePin`). */
export const withPin = <T extends ResolvedTarget>(target: T, flags: PinFlags) =>
  Effect.map(decidePin(target.url, flags, target.configuredPin), (tls): T => (tls === undefined ? target : { ...target, tls }))

/**
 * This host's gateway config for a client command. A config the gateway would
 * refuse to serve (say, tailnet with no tailnet address) still names the state
 * dir and port the client needs, so it is read as if bound to loopback.
 */
export const localConfig = (flags: Pick<TargetFlags, "profile" | "dev">, env: Env) =>
  GatewayConfig.make({ profile: flags.profile, dev: flags.dev }, env).pipe(
    Effect.catchIf((e) => e.reason === "refused", () => GatewayConfig.make({ profile: flags.profile, dev: flags.dev, bind: "loopback" }, env))
  )

/** Refuses plaintext ws:// to anything but loopback (or, with the opt-in, private addresses). */
export const checkPlaintext = (url: string, env: Env) => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined) return Effect.fail(new ConfigError({ reason: "invalid", message: `not a valid URL: ${url}` }))
  const host = parsed.hostname.replace(/^\[|\]$/g, "")
  if (parsed.protocol === "wss:" || isLoopbackIp(host) || parsed.hostname === "localhost") return Effect.void
  // As OpenClaw: an explicit opt-in allows plaintext to private and tailnet addresses only.
  if (env.OPENCLAW_ALLOW_INSECURE_PRIVATE_WS === "1" && isPrivateIp(host)) return Effect.void
  return Effect.fail(new ConfigError({
    reason: "refused",
    message: `refusing to send credentials to ${parsed.host} over plaintext ws://; use wss://, or an SSH forward ` +
      `(ssh -N -L 18789:127.0.0.1:18789 user@${parsed.hostname}) and --url ws://127.0.0.1:18789; ` +
      `on a trusted private network, OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1 allows it`
  }))
}
