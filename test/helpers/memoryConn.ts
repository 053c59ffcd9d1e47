import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { Conn, Headers } from "../../src/connections/conn.ts"
import { heldReader } from "./heldReader.ts"

export interface MemoryConn {
  readonly conn: Conn
  readonly push: (frame: unknown) => Effect.Effect<void>
  readonly pushText: (text: string) => Effect.Effect<void>
  readonly next: Effect.Effect<Record<string, any>>
  readonly nextMatching: (p: (f: Record<string, any>) => boolean) => Effect.Effect<Record<string, any>>
  readonly closed: Deferred.Deferred<{ code: number; reason: string }>
  readonly disconnect: Effect.Effect<void>
  readonly largeFramesAllowed: () => boolean
  /** Pretends this many bytes are queued for the client. */
  readonly setBuffered: (bytes: number) => void
}

export const makeMemoryConn = (options: { remoteAddress?: string; headers?: Headers } = {}) =>
  Effect.gen(function*() {
    const incoming = yield* Queue.unbounded<string, Cause.Done>()
    const outbox = yield* Queue.unbounded<string>()
    const closed = yield* Deferred.make<{ code: number; reason: string }>()
    let large = false
    let buffered = 0
    const conn: Conn = {
      remoteAddress: options.remoteAddress ?? "127.0.0.1",
      headers: options.headers ?? {},
      incoming,
      send: (text) => Effect.asVoid(Queue.offer(outbox, text)),
      bufferedAmount: () => buffered,
      close: (code, reason) =>
        Effect.andThen(Deferred.succeed(closed, { code, reason }), Effect.asVoid(Queue.end(incoming))),
      allowLargeFrames: () => {
        large = true
      }
    }
    const { next, nextMatching } = heldReader(Effect.map(Queue.take(outbox), (t) => JSON.parse(t) as Record<string, any>))
    return {
      conn,
      push: (frame: unknown) => Effect.asVoid(Queue.offer(incoming, JSON.stringify(frame))),
      pushText: (text: string) => Effect.asVoid(Queue.offer(incoming, text)),
      next,
      nextMatching,
      closed,
      disconnect: Effect.asVoid(Queue.end(incoming)),
      largeFramesAllowed: () => large,
      setBuffered: (bytes: number) => {
        buffered = bytes
      }
    } satisfies MemoryConn
  })
