/**
 * A reachability probe: whether something accepts a TCP connection at a ws(s)://
 * URL's host and port. Cheap (no WebSocket handshake, no credentials), bounded by
 * a Clock timeout; any failure is "unreachable".
 */
import * as Effect from "effect/Effect"
import { connect } from "node:net"

/** True when a TCP connect to the URL's host and port succeeds within `timeoutMs`. */
export const tcpReachable = (url: string, timeoutMs: number): Effect.Effect<boolean> => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined) return Effect.succeed(false)
  const host = parsed.hostname.replace(/^\[|\]$/g, "")
  const port = Number(parsed.port || (parsed.protocol === "wss:" ? 443 : 80))
  return Effect.callback<boolean>((resume) => {
    const socket = connect({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
    return Effect.sync(() => socket.destroy())
  }).pipe(Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.succeed(false) }))
}
