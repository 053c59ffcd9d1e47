/**
 * What runs before the gateway listens: generate and persist a token on first
 * start, then refuse configurations that would expose the gateway unprotected
 * (USERS-AND-SECURITY.md §4; the combinations themselves are in config/startMatrix.ts).
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { ConfigError } from "../config/errors.ts"
import { generatedTokenPath, isLoopbackBind, isPlaceholderSecret } from "../config/resolve.ts"
import { refusedCombination } from "../config/startMatrix.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"

/** Generates the token on first start when token auth has none, and says where it is. */
export const ensureToken = Effect.gen(function*() {
  const { config, reload, secrets } = yield* GatewayConfig
  if (config.authMode.value !== "token") return
  const current = yield* secrets
  if (current.token !== undefined) return
  const path = generatedTokenPath(config.paths)
  // An emptied token file is a lost secret, not a first start: replacing it silently would lock out
  // every client that holds the old token, without a word about why.
  if (existsSync(path)) {
    return yield* new ConfigError({
      reason: "invalid",
      message: `the gateway token file ${path} is empty (or unreadable); put the token back into it (clients on other ` +
        `machines hold it), or delete the file to have a new one generated (then pass the new token to every client)`
    })
  }
  const token = randomBytes(24).toString("hex")
  yield* writeFileAtomic(path, token + "\n").pipe(
    Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: `cannot save the generated token to ${path}: ${e.message}` }))
  )
  // In force before anything listens (not a rotation: no session can hold a secret that did not exist).
  yield* reload
  yield* Effect.logInfo(
    `no gateway token was configured, so one was generated and saved to ${path} (mode 0600). ` +
      `gatehouse commands on this host use it automatically; remote clients pass it with --token.`
  )
})

/** Fails when the configuration must not be served: non-loopback without a real secret, placeholders, and the like. */
export const refuseUnsafe = Effect.gen(function*() {
  const { config, host, secrets } = yield* GatewayConfig
  const current = yield* secrets
  const mode = config.authMode.value
  const where = `${host}:${config.port.value}`
  const loopback = isLoopbackBind(host)
  const secret = mode === "token" ? current.token : mode === "password" ? current.password : undefined
  if (secret !== undefined && isPlaceholderSecret(Redacted.value(secret.value))) {
    return yield* new ConfigError({
      reason: "refused",
      message: `refusing to start: the gateway ${mode} (from ${secret.source}) is a placeholder or blank; ` +
        `set a real one, e.g. OPENCLAW_GATEWAY_TOKEN=$(openssl rand -hex 24), or remove it to have one generated`
    })
  }
  const matrix = refusedCombination(config, current, config.file.config.hooks?.token)
  if (matrix !== undefined) return yield* new ConfigError({ reason: "refused", message: `refusing to start: ${matrix}` })
  if (loopback || mode === "trusted-proxy") return
  if (mode === "none") {
    return yield* new ConfigError({
      reason: "refused",
      message: `refusing to bind gateway to ${where} without auth (auth mode none is for loopback only); ` +
        `use --auth token (a token is generated if none is set) or --bind loopback`
    })
  }
  if (secret === undefined) {
    return yield* new ConfigError({
      reason: "refused",
      message: `refusing to bind gateway to ${where} without auth (set gateway.auth.${mode}, ` +
        `or OPENCLAW_GATEWAY_${mode === "token" ? "TOKEN" : "PASSWORD"}, or pass --${mode})`
    })
  }
  // With TLS on, a non-loopback bind needs no opt-out: clients pin the certificate's fingerprint.
  if (config.tls.enabled.value) return
  yield* Effect.logWarning(
    `gateway listens on ${where} beyond loopback over plain ws://; turn on TLS (--tls or gateway.tls.enabled), ` +
      `or use an SSH forward (ssh -N -L ${config.port.value}:127.0.0.1:${config.port.value} user@host)`
  )
})
