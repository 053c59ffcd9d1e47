/**
 * FrameRouter: how connection programs hand OpenClaw `req` frames to the RPC
 * server and get its answers back as `res` frames. Implemented, together with the
 * `RpcServer.Protocol` it feeds, by `RpcFrameProtocol`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { RequestFrame, ResponseFrame } from "../protocol/frames.ts"

export interface FrameRouterShape {
  /** Starts routing responses for `clientId` to `write`. */
  readonly attach: (clientId: number, write: (frame: ResponseFrame) => Effect.Effect<void>) => Effect.Effect<void>
  /** Stops routing and interrupts the client's in-flight requests. */
  readonly detach: (clientId: number) => Effect.Effect<void>
  /** Hands a request frame to the RPC server; false when its id is already in flight. */
  readonly submit: (clientId: number, frame: RequestFrame) => Effect.Effect<boolean>
}

export class FrameRouter extends Context.Service<FrameRouter, FrameRouterShape>()("gatehouse/services/FrameRouter") {}
