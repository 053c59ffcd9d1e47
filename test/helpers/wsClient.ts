import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { WebSocket } from "ws"
import { heldReader } from "./heldReader.ts"

export interface WsTestClient {
  readonly ws: WebSocket
  readonly send: (frame: unknown) => Effect.Effect<void>
  readonly sendText: (text: string) => Effect.Effect<void>
  readonly next: Effect.Effect<Record<string, any>>
  readonly nextMatching: (p: (f: Record<string, any>) => boolean) => Effect.Effect<Record<string, any>>
  readonly closed: Effect.Effect<{ code: number; reason: string }>
}

export const openWs = (url: string, headers: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const inbox = yield* Queue.unbounded<Record<string, any>>()
      let closeInfo: { code: number; reason: string } | undefined
      const waiters: Array<(c: { code: number; reason: string }) => void> = []
      const ws = yield* Effect.callback<WebSocket, Error>((resume) => {
        const socket = new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
        socket.on("message", (data) => Queue.offerUnsafe(inbox, JSON.parse(String(data))))
        socket.once("open", () => resume(Effect.succeed(socket)))
        socket.once("error", (e) => resume(Effect.fail(e)))
        socket.once("close", (code, reason) => {
          closeInfo = { code, reason: reason.toString() }
          for (const w of waiters) w(closeInfo)
        })
      })
      const { next, nextMatching } = heldReader(Queue.take(inbox))
      return {
        ws,
        send: (frame: unknown) => Effect.sync(() => ws.send(JSON.stringify(frame))),
        sendText: (text: string) => Effect.sync(() => ws.send(text)),
        next,
        nextMatching,
        closed: Effect.callback<{ code: number; reason: string }>((resume) => {
          if (closeInfo !== undefined) resume(Effect.succeed(closeInfo))
          else waiters.push((c) => resume(Effect.succeed(c)))
        })
      } satisfies WsTestClient
    }),
    (c) => Effect.sync(() => c.ws.terminate())
  )
