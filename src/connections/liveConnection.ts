/**
 * One authenticated connection as the rest of the gateway sees it: who it is and
 * how to reach it. The connection program makes them; the hub, the node registry
 * and device pairing address them.
 */
import type * as Effect from "effect/Effect"
import type { Principal } from "../auth/principal.ts"
import type { ClientInfo } from "../protocol/connect.ts"
import type { StateVersion } from "../protocol/frames.ts"
import { satisfies } from "../protocol/scopes.ts"

/** Options for one outbound event. */
export interface EventOptions {
  /** Skip this event for a slow consumer instead of closing it. */
  readonly dropIfSlow?: boolean
  readonly stateVersion?: StateVersion
}

export interface LiveConnection {
  readonly connId: string
  /** The number the RPC server knows this connection by. */
  readonly clientId: number
  readonly principal: Principal
  readonly client: ClientInfo
  readonly remoteAddress: string
  readonly connectedAtMs: number
  /** Sends a broadcast-style event with this connection's next `seq`. */
  readonly sendEvent: (event: string, payload: unknown, options?: EventOptions) => Effect.Effect<void>
  /** Sends an event addressed to this connection alone (no `seq`, as OpenClaw does for node.invoke.request). */
  readonly sendDirect: (event: string, payload: unknown) => Effect.Effect<void>
  /** Closes the connection with a close code and reason. */
  readonly close: (code: number, reason: string) => Effect.Effect<void>
}

/** Operators who may see pairing requests: `device.pair.*` and `node.pair.*` events go only to them. */
export const isPairer = (c: LiveConnection) => c.principal.role === "operator" && satisfies(c.principal.scopes, "operator.pairing")
