/**
 * The direct Transport: dials the gateway's URL as given, with no compression
 * (gateways do not accept it), and hands the socket over paused once it is open.
 *
 * `wss://` is pinned, not CA-verified: the TLS socket is opened here with
 * `rejectUnauthorized: false` and, on `secureConnect`, the SHA-256 of the
 * certificate it actually presented is compared with the pin. Only a match hands
 * the socket to `ws`, which writes the upgrade request (and the caller then its
 * credentials); a mismatch, or no pin at all, destroys the socket first.
 * (`checkServerIdentity` would not do: Node skips it when chain verification
 * failed, which it always does for a self-signed certificate.)
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { isIP } from "node:net"
import type { TLSSocket } from "node:tls"
import { WebSocket } from "ws"
import {
  type OpenOptions,
  PinMismatch,
  type TlsPin,
  Timeout,
  Transport,
  TransportError,
  Unpinned,
  Unreachable
} from "../services/Transport.ts"
import { fingerprintOfDer } from "../tls/fingerprint.ts"

const open = Effect.fn("Transport.open")(function*(url: string, options: OpenOptions) {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  const handed = { value: false }
  const pinned = parsed?.protocol === "wss:"
    ? yield* Effect.acquireRelease(
      pinnedTls(url, parsed, options.tls).pipe(withTimeout(url, options.timeoutMs)),
      (s) => Effect.sync(() => (handed.value ? undefined : s.destroy()))
    )
    : undefined
  const socket = yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        const s = new WebSocket(url, {
          maxPayload: options.maxPayload,
          perMessageDeflate: false,
          // The upgrade request is written on this already verified socket, never on a new one.
          ...(pinned === undefined ? {} : { createConnection: () => pinned })
        })
        handed.value = pinned !== undefined
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
  }).pipe(withTimeout(url, options.timeoutMs))
  return socket
})

/** Opens sockets straight to the gateway's URL. */
export const layer = Layer.succeed(Transport, Transport.of({ name: "direct", open }))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** A TLS socket whose peer presented the pinned certificate; nothing has been written on it. */
const pinnedTls = (url: string, parsed: URL, pin: TlsPin | undefined) =>
  Effect.callback<TLSSocket, TransportError>((resume) => {
    const host = parsed.hostname.replace(/^\[|\]$/g, "")
    // node:tls is taken here, when a wss:// gateway is dialled, not at start: an ES import would load it for every
    // command (OpenSSL's TLS set-up, ~3 MiB) and read every export, which parses the bundled root certificates.
    const sock = process.getBuiltinModule("node:tls").connect({
      host,
      port: parsed.port === "" ? 443 : Number(parsed.port),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"]
    })
    // Stays for the socket's life: ws attaches its own listeners only once it has the socket.
    sock.on("error", () => undefined)
    const onError = (e: Error) => resume(Effect.fail(unreachable(url, e)))
    sock.once("error", onError)
    sock.once("secureConnect", () => {
      sock.off("error", onError)
      const raw = sock.getPeerCertificate().raw as Buffer | undefined
      const presented = raw === undefined ? "" : fingerprintOfDer(raw)
      if (pin !== undefined && presented === pin.fingerprint) return resume(Effect.succeed(sock))
      sock.destroy()
      resume(Effect.fail(
        new TransportError({
          reason: pin === undefined
            ? new Unpinned({ url, presented })
            : new PinMismatch({ url, expected: pin.fingerprint, presented, pinnedBy: pin.pinnedBy })
        })
      ))
    })
    return Effect.sync(() => sock.destroy())
  })

const withTimeout = (url: string, ms: number) => <A, R>(effect: Effect.Effect<A, TransportError, R>) =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: ms,
      orElse: () => Effect.fail(new TransportError({ reason: new Timeout({ url, ms }) }))
    })
  )

const unreachable = (url: string, e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  return new TransportError({
    reason: new Unreachable({ url, detail: e instanceof Error ? e.message : String(e), ...(typeof code === "string" ? { code } : {}) })
  })
}
