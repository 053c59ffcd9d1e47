/**
 * Asking the local Tailscale daemon who is behind a tailnet address:
 * `tailscale whois --json <ip>` as a child process (no shell), with a timeout,
 * a cap on what it may print, and a short, bounded cache so a burst of
 * connections from one peer costs one lookup. The login it reports is the only
 * Tailscale identity the gateway believes; the proxy's header must equal it.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { execFile } from "node:child_process"
import { isIP } from "node:net"

/** What whois said: the peer's login name, or why there is none. */
export type WhoisAnswer =
  | { readonly _tag: "Login"; readonly login: string }
  | { readonly _tag: "Failed"; readonly message: string }

export interface WhoisOptions {
  /** The executable (default `tailscale`, searched in PATH). */
  readonly bin?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly maxOutputBytes?: number | undefined
  readonly cacheTtlMs?: number | undefined
  readonly maxCached?: number | undefined
}

export interface Whois {
  /** The login behind `ip`, answered from the cache while fresh. */
  readonly lookup: (ip: string) => Effect.Effect<WhoisAnswer>
}

/** A whois client with its own cache; one per gateway. */
export const makeWhois = (options: WhoisOptions = {}): Whois => {
  const timeoutMs = options.timeoutMs ?? 3_000
  const maxBytes = options.maxOutputBytes ?? 64 * 1024
  const ttl = options.cacheTtlMs ?? 10_000
  const maxCached = options.maxCached ?? 256
  const cache = new Map<string, { readonly answer: WhoisAnswer; readonly until: number }>()
  const lookup = (ip: string) =>
    Effect.gen(function*() {
      if (isIP(ip) === 0) return failed("not an IP address")
      const now = yield* Clock.currentTimeMillis
      const hit = cache.get(ip)
      if (hit !== undefined && hit.until > now) return hit.answer
      cache.delete(ip)
      const answer = yield* run(options.bin ?? "tailscale", ip, timeoutMs, maxBytes)
      // Failures are kept only briefly: a restarting tailscaled must not lock a user out for the whole TTL.
      cache.set(ip, { answer, until: now + (answer._tag === "Login" ? ttl : Math.min(ttl, 1_000)) })
      while (cache.size > maxCached) cache.delete(cache.keys().next().value!)
      return answer
    })
  return { lookup }
}

/** The `UserProfile.LoginName` of a `tailscale whois --json` document, if it has one. */
export const loginOf = (stdout: string): string | undefined => {
  const parsed = Result.try(() => JSON.parse(stdout) as unknown)
  if (Result.isFailure(parsed)) return undefined
  const doc = parsed.success
  if (typeof doc !== "object" || doc === null) return undefined
  const profile = (doc as { readonly UserProfile?: unknown }).UserProfile
  if (typeof profile !== "object" || profile === null) return undefined
  const login = (profile as { readonly LoginName?: unknown }).LoginName
  return typeof login === "string" && login.length > 0 ? login : undefined
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const failed = (message: string): WhoisAnswer => ({ _tag: "Failed", message })

const run = (bin: string, ip: string, timeoutMs: number, maxBytes: number): Effect.Effect<WhoisAnswer> =>
  Effect.callback<WhoisAnswer>((resume) => {
    const child = execFile(bin, ["whois", "--json", ip], { timeout: timeoutMs, maxBuffer: maxBytes, killSignal: "SIGKILL", shell: false, windowsHide: true }, (error, stdout) => {
      if (error !== null) {
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown }
        const why = e.code === "ENOENT"
          ? "tailscale is not installed or not on PATH"
          : e.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"
          ? `tailscale whois printed more than ${maxBytes} bytes`
          : e.killed === true
          ? `tailscale whois did not answer within ${timeoutMs} ms`
          : `tailscale whois failed (exit ${String(e.code)})`
        return resume(Effect.succeed(failed(why)))
      }
      const login = loginOf(String(stdout))
      resume(Effect.succeed(login === undefined ? failed("tailscale whois printed no UserProfile.LoginName") : { _tag: "Login", login }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  }).pipe(
    // A whois whose grandchild keeps its output open must not hold the handshake past the timeout either.
    Effect.timeoutOrElse({ duration: timeoutMs + 500, orElse: () => Effect.succeed(failed(`tailscale whois did not answer within ${timeoutMs} ms`)) })
  )
