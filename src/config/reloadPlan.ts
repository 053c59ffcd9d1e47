/**
 * What a config edit means for a running gateway: which changed keys the gateway
 * applies live and which only a restart applies. Pure, so the rule is testable
 * without files or clocks; the reload program logs and reports its answer.
 */
import * as Redacted from "effect/Redacted"
import { type EffectiveConfig, isLoopbackBind, isPlaceholderSecret, type Secrets } from "./resolve.ts"
import { refusedCombination } from "./startMatrix.ts"

/** The changed keys of an edit, split by how they take effect. */
export interface ReloadPlan {
  /** Keys the gateway now reads from the new config (consumers read the live config per use). */
  readonly live: ReadonlyArray<string>
  /** Keys that keep their start-up value until `gatehouse gateway restart`. */
  readonly restart: ReadonlyArray<string>
}

/** The command that applies restart-only keys. */
export const RESTART_COMMAND = "gatehouse gateway restart"

/** Compares the config in force with a newly read one. */
export const planReload = (before: EffectiveConfig, after: EffectiveConfig): ReloadPlan => {
  const changed = (keys: ReadonlyArray<Key>) => keys.filter(([, get]) => !same(get(before), get(after))).map(([key]) => key)
  // The shared (Redis) limiter is built with its policy; only the in-memory one reads it per decision.
  const limiterFixed = before.redisUrl !== undefined
  const live = changed(LIVE_KEYS).filter((k) => !(limiterFixed && k === "gateway.auth.rateLimit"))
  const restart = [...changed(RESTART_KEYS), ...(limiterFixed ? changed(LIVE_KEYS).filter((k) => k === "gateway.auth.rateLimit") : [])]
  return { live, restart }
}

/** Whether the shared secret in force changed (a new generation: sessions of the old one end). */
export const secretsChanged = (before: Secrets, after: Secrets): boolean =>
  !same(reveal(before.token?.value), reveal(after.token?.value)) || !same(reveal(before.password?.value), reveal(after.password?.value))

/**
 * Why an edited config must not be put in force on a gateway listening on `host`
 * (what would refuse a start: a placeholder secret, an unsupported mode, no secret
 * beyond loopback), or undefined. A reload never opens what a start would refuse.
 */
export const refusedLive = (next: EffectiveConfig, secrets: Secrets, host: string): string | undefined => {
  const mode = next.authMode.value
  const secret = mode === "token" ? secrets.token : mode === "password" ? secrets.password : undefined
  if (secret !== undefined && isPlaceholderSecret(Redacted.value(secret.value))) return `the gateway ${mode} is a placeholder or blank; set a real one`
  const matrix = refusedCombination(next, secrets, next.file.config.hooks?.token)
  if (matrix !== undefined) return matrix
  if (isLoopbackBind(host) || mode === "trusted-proxy") return undefined
  if (mode === "none") return `auth mode none is for loopback only, and this gateway listens on ${host}`
  if (secret === undefined) return `this gateway listens on ${host} and would have no ${mode}; set gateway.auth.${mode}`
  return undefined
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type Key = readonly [string, (c: EffectiveConfig) => unknown]

// Read per use by Auth, the connection program, the node registry, the rate limiter, `status` and the daemon's logger,
// or rebuilt on change.
const LIVE_KEYS: ReadonlyArray<Key> = [
  ["gateway.auth.mode", (c) => c.authMode.value],
  ["gateway.auth.rateLimit", (c) => c.authRateLimit],
  ["gateway.auth.trustedProxy", (c) => c.proxyIdentity.trustedProxy],
  ["gateway.auth.allowTailscale", (c) => c.proxyIdentity.allowTailscale],
  ["gateway.nodes.allowCommands", (c) => c.nodeCommands.allowCommands],
  ["gateway.nodes.denyCommands", (c) => c.nodeCommands.denyCommands],
  ["gateway.pairing.autoApproveLocal", (c) => c.autoApproveLocal],
  ["gateway.trustedProxies", (c) => c.trustedProxies],
  ["gateway.controlUi.allowedOrigins", (c) => c.allowedOrigins],
  ["logging.level", (c) => c.file.config.logging?.level],
  ["channels.telegram.allowFrom", (c) => c.channels.telegram?.allowFrom],
  ["channels.telegram.dmPolicy", (c) => c.channels.telegram?.dmPolicy],
  // The channel runner and the Discovery wrapper rebuild what these were built into (ChannelRunnerLive, DiscoveryReloading).
  ["channels.telegram.enabled", (c) => c.channels.telegram?.enabled],
  ["channels.telegram.botToken", (c) => reveal(c.channels.telegram?.botToken)],
  ["channels.telegram.apiRoot", (c) => c.channels.telegram?.apiRoot],
  ["discovery", (c) => c.discovery],
  ["gateway.remote", (c) => ({ ...c.remote, token: reveal(c.remote.token), password: reveal(c.remote.password) })]
]

// Bound into a socket, a certificate, a client connection or a supervised fiber at start.
const RESTART_KEYS: ReadonlyArray<Key> = [
  ["gateway.port", (c) => c.port.value],
  ["gateway.bind", (c) => c.bind.value],
  ["gateway.customBindHost", (c) => c.customHost.value],
  ["gateway.tls", (c) => c.tls],
  ["gateway.rateLimit.redisUrl", (c) => reveal(c.redisUrl)],
  ["state.postgres.url", (c) => reveal(c.postgresUrl)],
  ["logging.format", (c) => c.file.config.logging?.format]
]

const reveal = (r: Redacted.Redacted<string> | undefined) => (r === undefined ? undefined : Redacted.value(r))

// Structural equality of plain config values (arrays in order, objects by key).
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)
