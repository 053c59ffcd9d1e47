/**
 * Identities vouched for by something in front of the gateway, decided from the
 * socket peer and the upgrade request's headers only:
 * - trusted-proxy: an identity-aware proxy named in `gateway.trustedProxies`
 *   says who the user is in a configured header;
 * - Tailscale Serve: a loopback proxy carrying `tailscale-user-login` and
 *   Tailscale's forwarded headers, which the caller must still confirm with
 *   `tailscale whois` on the forwarded address.
 * Header values are never trusted to be printable: a user name is accepted only
 * in a strict shape, so it cannot forge log lines or smuggle a second value.
 */
import { isIP } from "node:net"
import type { AddressSet } from "../net/addressSet.ts"
import { canonicalIp, isLoopbackIp } from "../net/ip.ts"
import type { TransportInfo } from "./principal.ts"

/** What auth mode trusted-proxy reads (`gateway.auth.trustedProxy`). */
export interface TrustedProxySettings {
  readonly userHeader: string | undefined
  readonly requiredHeaders: ReadonlyArray<string>
  readonly allowUsers: ReadonlyArray<string>
  readonly allowLoopback: boolean
}

export type ProxyRefusal =
  | "trusted_proxy_untrusted_source"
  | "trusted_proxy_user_missing"
  | "trusted_proxy_user_invalid"
  | "trusted_proxy_user_not_allowed"

/** The outcome of reading a trusted proxy's identity headers. */
export type ProxyVerdict =
  | { readonly _tag: "User"; readonly user: string }
  | { readonly _tag: "Refused"; readonly kind: ProxyRefusal; readonly detail: string }

/** The user a trusted proxy vouches for, or why the request is not believed. */
export const trustedProxyUser = (transport: TransportInfo, settings: TrustedProxySettings, proxies: AddressSet): ProxyVerdict => {
  const peer = canonicalIp(transport.peerAddress ?? transport.remoteAddress)
  if (!proxies.has(peer) || (isLoopbackIp(peer) && !settings.allowLoopback)) {
    return refused("trusted_proxy_untrusted_source", "the request did not come from an address in gateway.trustedProxies")
  }
  const headers = transport.headers ?? {}
  const missing = settings.requiredHeaders.filter((h) => single(headers[h]) === undefined)
  if (missing.length > 0) return refused("trusted_proxy_user_missing", `the proxy did not send ${missing.slice(0, 3).join(", ")}`)
  if (settings.userHeader === undefined) return refused("trusted_proxy_user_missing", "gateway.auth.trustedProxy.userHeader is not set")
  const raw = headers[settings.userHeader]
  if (raw === undefined) return refused("trusted_proxy_user_missing", `the proxy did not send ${settings.userHeader}`)
  const user = single(raw)
  if (user === undefined || !isUserName(user)) {
    return refused("trusted_proxy_user_invalid", `${settings.userHeader} is not one user name (printable, no spaces or commas, at most ${MAX_USER} characters)`)
  }
  if (settings.allowUsers.length > 0 && !settings.allowUsers.includes(user)) {
    return refused("trusted_proxy_user_not_allowed", "the proxy's user is not in gateway.auth.trustedProxy.allowUsers")
  }
  return { _tag: "User", user }
}

/** A Tailscale Serve identity claim: the login the proxy asserts and the tailnet address to confirm it with. */
export interface TailscaleClaim {
  readonly login: string
  readonly clientIp: string
}

/**
 * The claim carried by a request that came the way Tailscale Serve sends it: a
 * loopback peer with `tailscale-user-login` and x-forwarded-for/-proto/-host.
 * Anything else (a remote peer, a missing header, a login of the wrong shape)
 * is no claim at all: the client must authenticate another way.
 */
export const tailscaleClaim = (transport: TransportInfo): TailscaleClaim | undefined => {
  const peer = canonicalIp(transport.peerAddress ?? transport.remoteAddress)
  if (!isLoopbackIp(peer)) return undefined
  const headers = transport.headers ?? {}
  const login = single(headers["tailscale-user-login"])
  if (login === undefined || !isUserName(login)) return undefined
  if (single(headers["x-forwarded-proto"]) === undefined || single(headers["x-forwarded-host"]) === undefined) return undefined
  const forwarded = single(headers["x-forwarded-for"])
  const clientIp = forwarded === undefined ? undefined : canonicalIp(forwarded.split(",").at(-1)!.trim())
  if (clientIp === undefined || isIP(clientIp) === 0 || isLoopbackIp(clientIp)) return undefined
  return { login, clientIp }
}

/** Whether `value` is one user name: printable ASCII without spaces or commas, 1 to 256 characters. */
export const isUserName = (value: string): boolean => USER_NAME.test(value)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const MAX_USER = 256
// No space, no comma (Node joins a repeated header with ", "), no controls, nothing beyond ASCII.
const USER_NAME = /^[\x21-\x2b\x2d-\x7e]{1,256}$/

const single = (v: string | ReadonlyArray<string> | undefined): string | undefined => {
  if (typeof v !== "string") return undefined
  const t = v.trim()
  return t.length === 0 ? undefined : t
}

const refused = (kind: ProxyRefusal, detail: string): ProxyVerdict => ({ _tag: "Refused", kind, detail })
