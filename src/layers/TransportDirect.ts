/**
 * The direct Transport: dials the gateway's URL as given, with no compression
 * (gateways do not accept it), and hands the socket over paused once it is open.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { WebSocket } from "ws"
import { type OpenOptions, Timeout, Transport, TransportError, Unreachable } from "../services/Transport.ts"

const open = Effect.fn("Transport.open")(function*(url: string, options: OpenOptions) {
  const socket = yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        const s = new WebSocket(url, { maxPayload: options.maxPayload, perMessageDeflate: false })
        // ws throws an "error" nobody listens to; this listener stays for the socket's life (a close
        // while still connecting emits one too), and the caller learns of failures from "close".
        s.on("error", () => undefined)
        return s
      },
      catch: (e) => unreachable(url, e)
    }),
    (s) => Effect.sync(() => (s.readyState === WebSocket.CONNECTING ? s.terminate() : s.close(1000)))
  )
  yield* Effect.callback<void, TransportError>((resume) => {
    const onOpen = () => {
      // Paused before any frame is read: the caller attaches its listeners, then resumes.
      socket.pause()
      resume(Effect.void)
    }
    const onError = (e: Error) => resume(Effect.fail(unreachable(url, e)))
    socket.once("open", onOpen)
    socket.once("error", onError)
    return Effect.sync(() => {
      socket.off("open", onOpen)
      socket.off("error", onError)
    })
  }).pipe(
    Effect.timeoutOrElse({
      duration: options.timeoutMs,
      orElse: () => Effect.fail(new TransportError({ reason: new Timeout({ url, ms: options.timeoutMs }) }))
    })
  )
  return socket
})

/** Opens sockets straight to the gateway's URL. */
export const layer = Layer.succeed(Transport, Transport.of({ name: "direct", open }))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const unreachable = (url: string, e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  return new TransportError({
    reason: new Unreachable({ url, detail: e instanceof Error ? e.message : String(e), ...(typeof code === "string" ? { code } : {}) })
  })
}
