/**
 * Which browser origins and Host headers the gateway accepts, as pure functions.
 *
 * Origin: exactly the gateway's own origins (the scheme, host and port it serves
 * on, URL-normalized: default ports, case, IPv6 brackets) or one listed in
 * `gateway.controlUi.allowedOrigins`. A page on another port of the same host,
 * loopback included, is a different origin and is refused (a dev server or a
 * local app must not drive the gateway). A request without an Origin header is a
 * non-browser client and is not judged here.
 *
 * Host (against DNS rebinding): a request that reached a loopback socket must
 * name a loopback host (an IP in 127.0.0.0/8, ::1, `localhost`, `*.localhost`) or
 * the host the gateway is configured for; `evil.example` resolving to 127.0.0.1
 * is refused.
 */
import { isLoopbackIp } from "./ip.ts"

/** What the gateway serves on: the scheme of its pages, its port and the host names it is reached by. */
export interface ServedOrigins {
  readonly tls: boolean
  readonly port: number
  readonly hosts: ReadonlyArray<string>
}

/** The host names a gateway bound to `bindHost` is reached by (the machine's addresses and name for a wildcard bind). */
export const servedHosts = (
  bindHost: string,
  options: {
    readonly alsoLoopback: boolean
    readonly configuredHost?: string | undefined
    readonly machineNames: ReadonlyArray<string>
    readonly interfaceAddresses: ReadonlyArray<string>
  }
): ReadonlyArray<string> => {
  const wildcard = bindHost === "0.0.0.0" || bindHost === "::"
  const hosts = wildcard
    ? [...options.interfaceAddresses, ...options.machineNames, "localhost"]
    : isLoopbackIp(bindHost)
    ? [bindHost, "localhost"]
    : [bindHost, ...(options.alsoLoopback ? ["127.0.0.1", "localhost"] : [])]
  if (options.configuredHost !== undefined && options.configuredHost !== "") hosts.push(options.configuredHost)
  return [...new Set(hosts)]
}

/** The gateway's own origins, normalized (`http://127.0.0.1:18789`, `https://[::1]:443` → `https://[::1]`). */
export const ownOrigins = (served: ServedOrigins): ReadonlyArray<string> =>
  served.hosts.flatMap((host) => {
    const origin = normalizeOrigin(`${served.tls ? "https" : "http"}://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${served.port}`)
    return origin === undefined ? [] : [origin]
  })

/** Whether a browser page at `origin` may talk to the gateway. */
export const originAllowed = (origin: string, own: ReadonlyArray<string>, allowed: ReadonlyArray<string>): boolean => {
  if (allowed.includes("*")) return true
  const normalized = normalizeOrigin(origin)
  // "null" (sandboxed frames, file:// pages) and anything unparsable are never the gateway's own.
  if (normalized === undefined) return allowed.includes(origin) && origin !== "null"
  return own.includes(normalized) || allowed.some((a) => a === origin || normalizeOrigin(a) === normalized)
}

/** Whether a request that arrived on a loopback socket names a host it may (DNS rebinding guard). */
export const hostAllowed = (hostHeader: string | undefined, configuredHosts: ReadonlyArray<string>): boolean => {
  if (hostHeader === undefined || hostHeader === "") return false
  const name = hostName(hostHeader)
  if (name === undefined) return false
  if (name === "localhost" || name.endsWith(".localhost") || isLoopbackIp(name)) return true
  return configuredHosts.some((h) => h.toLowerCase() === name)
}

/** The URL-normalized origin of `text` (scheme://host[:port]), or undefined when it is not an http(s) origin. */
export const normalizeOrigin = (text: string): string | undefined => {
  if (!URL.canParse(text)) return undefined
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  return url.origin
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The host name of a Host header (`name`, `name:port`, `[v6]:port`), lowercased, brackets removed.
const hostName = (header: string): string | undefined => {
  if (!URL.canParse(`http://${header}`)) return undefined
  const url = new URL(`http://${header}`)
  if (url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "") return undefined
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase()
}
