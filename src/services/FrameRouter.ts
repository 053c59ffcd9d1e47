/**
 * FrameRouter: how connection programs hand OpenClaw `req` frames to the RPC
 * server and get its answers back as `res` frames. Implemented, together with the
 * `RpcServer.Protocol` it feeds, by `RpcFrameProtocol`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { RequestFrame, ResponseFrame } from "../protocol/frames.ts"

export interface FrameRouterShape {
  /**
   * Starts routing responses for `clientId` to `write`; `client` names who it is (its address key), for shared budgets.
   * `write` writes synchronously, and returns an effect only when it has more to do (closing a slow consumer).
   */
  readonly attach: (clientId: number, write: ResponseWriter, client?: string) => Effect.Effect<void>
  /** Stops routing and interrupts the client's in-flight requests. */
  readonly detach: (clientId: number) => Effect.Effect<void>
  /**
   * Hands a request frame (`bytes` long on the wire) to the RPC server: `duplicate` when its id is already in
   * flight, `busy` when the connection already has `MAX_IN_FLIGHT_PER_CLIENT` requests unanswered, or this one
   * would take the connection's unanswered bytes past `maxBytes` or those of all the client's connections past
   * `maxClientBytes` (the table and the bytes it holds have caps).
   */
  readonly submit: (clientId: number, frame: RequestFrame, bytes?: number, maxBytes?: number, maxClientBytes?: number) => Effect.Effect<Submitted>
}

/** Writes one response frame now; returns an effect only when there is more to do. A call per response, not an effect. */
export type ResponseWriter = (frame: ResponseFrame) => Effect.Effect<void> | undefined

/** What became of a submitted request frame. */
export type Submitted = "accepted" | "duplicate" | "busy"

/** Requests one connection may have unanswered at once. */
export const MAX_IN_FLIGHT_PER_CLIENT = 1024

export class FrameRouter extends Context.Service<FrameRouter, FrameRouterShape>()("gatehouse/services/FrameRouter") {}
