/**
 * All method handlers as one layer for the RPC server. Handlers fail with their
 * services' own errors; they become wire errors here, once, for every method.
 */
import * as Effect from "effect/Effect"
import type { GatewayError } from "../../protocol/errors.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { failOnWire, type ServiceError } from "../wireErrors.ts"
import * as Channels from "./channels.ts"
import * as Chat from "./chat.ts"
import * as Core from "./core.ts"
import * as Devices from "./devices.ts"
import * as Logs from "./logs.ts"
import * as Nodes from "./nodes.ts"

export const layer = GatewayRpcs.toLayer(
  Effect.gen(function*() {
    return GatewayRpcs.of({
      ...atTheEdge({ ...(yield* Channels.handlers), ...(yield* Devices.handlers), ...(yield* Nodes.handlers), ...(yield* Chat.handlers) }),
      // These fail with nothing but wire errors (the types say so), which the mapping passes through unchanged:
      // no wrapper per request. A handler that gains a service error no longer type-checks here.
      ...(yield* Core.handlers), ...(yield* Logs.handlers),
      // Streaming handlers map their failures to wire errors themselves.
      ...(yield* Chat.streamHandlers)
    })
  })
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type Handler = (payload: never, options: never) => Effect.Effect<unknown, ServiceError, unknown>

type AtTheEdge<H extends Record<string, Handler>> = {
  readonly [K in keyof H]: (...args: Parameters<H[K]>) => Effect.Effect<Effect.Success<ReturnType<H[K]>>, GatewayError, Effect.Services<ReturnType<H[K]>>>
}

// Maps every handler's failure to the wire error, leaving success and requirements as they are.
const atTheEdge = <H extends Record<string, Handler>>(handlers: H): AtTheEdge<H> =>
  Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      (payload: never, options: never) => Effect.catch(handler(payload, options), failOnWire)
    ])
  ) as unknown as AtTheEdge<H>
