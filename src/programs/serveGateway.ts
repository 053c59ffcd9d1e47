/**
 * The gateway's serving loop: every connection the Listener accepts runs through
 * the connection program, each with its own RPC client number; the periodic
 * broadcasts run beside them; Discovery is told where to advertise. When the scope closes, every client gets a
 * `shutdown` event and close code 1012, then every connection still being served
 * is interrupted, before any service it uses is released.
 */
import * as Effect from "effect/Effect"
import { CloseCode } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { Discovery } from "../services/Discovery.ts"
import { Listener } from "../services/Listener.ts"
import { runBroadcasts } from "./broadcasts.ts"
import { serveConnection } from "./serveConnection.ts"
import { SessionTable } from "../connections/sessionBudget.ts"

/** Why the gateway closes every client on the way down. */
const SHUTDOWN_REASON = "gateway stopping"

/** Starts serving in the background of the caller's scope; returns once serving has begun. */
export const serveGateway = Effect.gen(function*() {
  const listener = yield* Listener
  const hub = yield* ConnectionHub
  const context = yield* Effect.context<Effect.Services<ReturnType<typeof serveConnection>>>()
  let nextClientId = 1
  // Authenticated sockets per client and per device, for this gateway's lifetime.
  const sessions = new SessionTable()
  yield* runBroadcasts
  yield* Effect.forkScoped(listener.run((conn) => Effect.provideContext(serveConnection(conn, nextClientId++, listener.address.ownOrigins ?? [], sessions), context)))
  // Advertised only once the port is bound, with the served certificate's fingerprint when TLS is on (a hint: clients never pin it).
  const { port, tlsFingerprint } = listener.address
  yield* Discovery.use((discovery) => discovery.publish(tlsFingerprint === undefined ? { port } : { port, tlsSha256: tlsFingerprint }))
  // Registered after the fork, so it runs before the fork is interrupted: clients hear why before their sockets go.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const clients = yield* hub.connections
      yield* hub.broadcast("shutdown", { reason: SHUTDOWN_REASON })
      yield* hub.closeAll(CloseCode.serviceRestart, "service restart")
      yield* Effect.logInfo("gateway stopped").pipe(Effect.annotateLogs({ closedClients: clients.length }))
    })
  )
})
