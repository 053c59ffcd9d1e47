/**
 * The settings that let something in front of the gateway vouch for a user:
 * `gateway.auth.trustedProxy` (an identity-aware proxy's user header, for auth
 * mode trusted-proxy), `gateway.auth.allowTailscale` (Tailscale Serve's
 * identity headers) and `gateway.tailscale.mode` (read for the start checks).
 * Header names are validated here, once, so a typo fails at start, not silently.
 */
import type { LoadedFile } from "./file.ts"

export interface ProxyIdentityConfig {
  /** auth mode trusted-proxy: the header naming the user (lower-case), the ones that must be present, who may pass. */
  readonly trustedProxy: {
    readonly userHeader: string | undefined
    readonly requiredHeaders: ReadonlyArray<string>
    /** Empty: every user the proxy authenticated. */
    readonly allowUsers: ReadonlyArray<string>
    /** A proxy on this host (a loopback peer) is believed only when true. */
    readonly allowLoopback: boolean
  }
  /** Accept Tailscale Serve identity on WebSocket connections (confirmed with `tailscale whois`). */
  readonly allowTailscale: boolean
  /** `gateway.tailscale.mode`: whether Tailscale Serve or Funnel publishes this gateway. */
  readonly tailscaleMode: "off" | "serve" | "funnel"
}

/** Resolves the proxy-identity settings, or a message naming the bad key and the fix. */
export const resolveProxyIdentity = (file: LoadedFile, configPath: string): ProxyIdentityConfig | string => {
  const auth = file.config.gateway?.auth
  const tp = auth?.trustedProxy
  const userHeader = tp?.userHeader?.trim().toLowerCase()
  const required = (tp?.requiredHeaders ?? []).map((h) => h.trim().toLowerCase())
  const bad = [...(userHeader === undefined ? [] : [userHeader]), ...required].filter((h) => !HEADER_NAME.test(h))
  if (bad.length > 0) {
    return `gateway.auth.trustedProxy in ${configPath}: ${bad.slice(0, 3).map((h) => JSON.stringify(h.slice(0, 64))).join(", ")} ` +
      "is not an HTTP header name (e.g. x-forwarded-user)"
  }
  return {
    trustedProxy: {
      userHeader: userHeader === "" ? undefined : userHeader,
      requiredHeaders: required,
      allowUsers: (tp?.allowUsers ?? []).map((u) => u.trim()).filter((u) => u.length > 0),
      allowLoopback: tp?.allowLoopback ?? false
    },
    allowTailscale: auth?.allowTailscale ?? false,
    tailscaleMode: file.config.gateway?.tailscale?.mode ?? "off"
  }
}

// RFC 9110 token characters, at most 64 of them.
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/
