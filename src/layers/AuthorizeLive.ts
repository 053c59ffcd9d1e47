/**
 * The Authorize middleware: looks up the calling connection, applies the method's
 * `MethodAccess` (role, then scope lattice), and provides `CurrentCaller`.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { MethodAccess } from "../protocol/access.ts"
import { Authorize, type Caller, CurrentCaller } from "../protocol/authorize.ts"
import { GatewayError, missingScope, unauthorizedRole } from "../protocol/errors.ts"
import { satisfies } from "../protocol/scopes.ts"
import type { LiveConnection } from "../connections/liveConnection.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"

/** Decides whether a caller may use a method; returns the refusal or undefined. */
export const checkAccess = (access: MethodAccess, caller: Pick<Caller, "role" | "scopes">): GatewayError | undefined => {
  switch (access._tag) {
    case "Anyone":
      return undefined
    case "Node":
      return caller.role === "node" ? undefined : unauthorizedRole(caller.role)
    case "Operator":
      if (caller.role !== "operator") return unauthorizedRole(caller.role)
      return satisfies(caller.scopes, access.scope) ? undefined : missingScope(access.scope)
  }
}

export const layer = Layer.effect(
  Authorize,
  Effect.gen(function*() {
    const hub = yield* ConnectionHub
    // Per connection, computed once: the caller, and each method's verdict (a principal never changes
    // within a connection). Weakly held, so a closed connection's entry goes with it.
    const perConnection = new WeakMap<LiveConnection, PerConnection>()
    return Authorize.of((effect, { client, rpc }) => {
      const connection = hub.byClientId(client.id)
      if (connection === undefined) {
        return Effect.fail(new GatewayError({ code: "UNAVAILABLE", message: "connection is closing" }))
      }
      let known = perConnection.get(connection)
      if (known === undefined) {
        const caller: Caller = {
          connId: connection.connId,
          role: connection.principal.role,
          scopes: connection.principal.scopes,
          authMethod: connection.principal.method,
          clientId: connection.client.id,
          clientMode: connection.client.mode,
          deviceId: connection.principal.deviceId
        }
        // The context update that provides the caller, built once: a request reuses it, not a new closure each.
        const withCaller = (context: Context.Context<never>) => Context.add(context, CurrentCaller, caller)
        known = { caller, verdicts: new Map(), withCaller }
        perConnection.set(connection, known)
      }
      let refusal = known.verdicts.get(rpc._tag)
      if (refusal === undefined && !known.verdicts.has(rpc._tag)) {
        refusal = checkAccess(Context.get(rpc.annotations, MethodAccess), known.caller)
        known.verdicts.set(rpc._tag, refusal)
      }
      return refusal === undefined ? Effect.updateContext(effect, known.withCaller) : Effect.fail(refusal)
    })
  })
)

interface PerConnection {
  readonly caller: Caller
  readonly verdicts: Map<string, GatewayError | undefined>
  readonly withCaller: (context: Context.Context<never>) => Context.Context<CurrentCaller>
}
