/**
 * The combinations of bind, auth mode, Tailscale publishing and proxy identity
 * the gateway refuses to start with (the fail-closed matrix of
 * USERS-AND-SECURITY.md §4). Pure: each refusal says what is wrong and what to
 * set or run instead. Non-loopback without a secret, and placeholder secrets,
 * are checked by `refuseUnsafe` before this.
 */
import * as Redacted from "effect/Redacted"
import { addressSet } from "../net/addressSet.ts"
import type { EffectiveConfig, Secrets } from "./resolve.ts"

/** Why this configuration must not be served, or undefined when it may start. */
export const refusedCombination = (config: EffectiveConfig, secrets: Secrets, hooksToken: string | undefined): string | undefined => {
  const mode = config.authMode.value
  const { trustedProxy, allowTailscale, tailscaleMode } = config.proxyIdentity
  const where = config.paths.configPath
  if (tailscaleMode !== "off" && mode === "none") {
    return `gateway.tailscale.mode=${tailscaleMode} publishes the gateway to your tailnet${tailscaleMode === "funnel" ? " and the internet" : ""}, ` +
      "but auth mode is none; run `gatehouse config set gateway.auth.mode password` (and set a password), " +
      "or `gatehouse config set gateway.tailscale.mode off`"
  }
  if (tailscaleMode === "funnel" && mode !== "password") {
    return `gateway.tailscale.mode=funnel makes the gateway public and needs auth mode password (it is ${mode}); ` +
      "run `gatehouse config set gateway.auth.mode password` and set OPENCLAW_GATEWAY_PASSWORD, or use tailscale mode serve"
  }
  if (mode === "trusted-proxy") {
    if (tailscaleMode !== "off") {
      return `auth mode trusted-proxy with gateway.tailscale.mode=${tailscaleMode}: requests through Tailscale do not pass your ` +
        "identity-aware proxy; set gateway.tailscale.mode off, or use auth mode token with gateway.auth.allowTailscale"
    }
    if (config.trustedProxies.length === 0) {
      return `auth mode trusted-proxy needs gateway.trustedProxies (your proxy's own address) in ${where}; ` +
        "e.g. `gatehouse config set gateway.trustedProxies '[\"10.0.0.2\"]'`, or use auth mode token"
    }
    if (trustedProxy.userHeader === undefined) {
      return `auth mode trusted-proxy needs gateway.auth.trustedProxy.userHeader (the header your proxy puts the user in) in ${where}; ` +
        "e.g. `gatehouse config set gateway.auth.trustedProxy.userHeader x-forwarded-user`"
    }
    const loopback = addressSet(config.trustedProxies)
    if (!trustedProxy.allowLoopback && (loopback.has("127.0.0.1") || loopback.has("::1"))) {
      return "auth mode trusted-proxy with a loopback address in gateway.trustedProxies: every local process could claim any user; " +
        "remove it, or if the proxy really runs on this host set gateway.auth.trustedProxy.allowLoopback true " +
        "(and keep every other local process off the gateway's port)"
    }
  }
  if (allowTailscale && mode !== "token" && mode !== "password") {
    return `gateway.auth.allowTailscale needs auth mode token or password (it is ${mode}): Tailscale identity only adds to a secret, ` +
      "it never replaces one; run `gatehouse config set gateway.auth.mode token`, or turn allowTailscale off"
  }
  const hook = hooksToken?.trim()
  if (hook !== undefined && hook !== "") {
    const same = [secrets.token, secrets.password].some((s) => s !== undefined && Redacted.value(s.value) === hook)
    if (same) {
      return `hooks.token in ${where} equals the gateway's ${mode === "password" ? "password" : "token"}: anyone who can call a hook ` +
        "would hold the gateway's secret; set a different hooks.token (e.g. `openssl rand -hex 24`)"
    }
  }
  return undefined
}
