/**
 * The gateway's serving loop: every connection the Listener accepts runs through
 * the connection program, each with its own RPC client number; the periodic
 * broadcasts run beside them; Discovery is told where to advertise. When the scope closes, every client gets a
 * `shutdown` event and close code 1012, then every connection still being served
 * is interrupted, before any service it uses is released.
 */
import * as Context from "effect/Context"
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
  // What `Effect.provideContext` does, merged once: every connection's fiber starts with the listener's one
  // context, and a merge per connection gave each idle connection its own copy of the service map (~1 KiB).
  // A context never changes, so the last merge serves again for the same starting context.
  let from: Context.Context<never> | undefined
  let merged: Context.Context<Effect.Services<ReturnType<typeof serveConnection>>> | undefined
  const withGateway = (start: Context.Context<never>) => {
    if (start !== from || merged === undefined) {
      merged = Context.merge(start, context)
      from = start
    }
    return merged
  }
  yield* Effect.forkScoped(listener.run((conn) => Effect.updateContext(serveConnection(conn, nextClientId++, listener.address.ownOrigins ?? [], sessions), withGateway)))
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
