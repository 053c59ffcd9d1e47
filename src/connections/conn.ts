/**
 * The transport-neutral view of one WebSocket that the connection program runs
 * on. The `ws` layer adapts real sockets to it; tests drive it in memory.
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"

export type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export interface Conn {
  /** The socket's peer address as the OS reports it. */
  readonly remoteAddress: string
  /** The HTTP upgrade request's headers (lower-case names). */
  readonly headers: Headers
  /** Text frames from the client; ends when the socket closes. */
  readonly incoming: Queue.Dequeue<string, Cause.Done>
  /** Queues a text frame for the client (never blocks). */
  readonly send: (text: string) => Effect.Effect<void>
  /** `send` as a plain call, for the per-response path (no effect per frame). Absent: `send` is used. */
  readonly sendNow?: (text: string) => void
  /** Bytes queued for the client and not yet written. */
  readonly bufferedAmount: () => number
  /** Closes the socket with a code and reason. */
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  /** Raises the receive limit from the pre-auth size to the post-auth size. */
  readonly allowLargeFrames: () => void
  /**
   * From now on hands each text frame to `handle` in the socket's own callback
   * instead of queueing it (frames already queued go first, in order), so a request
   * costs no fiber wake-up; `incoming` then only ends. Absent: frames stay queued.
   */
  readonly deliverTo?: (handle: (text: string) => void) => void
}

const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"]

/** Whether the upgrade request carried any proxy header. */
export const hasProxyHeaders = (headers: Headers) => PROXY_HEADERS.some((h) => headers[h] !== undefined)

/** A header's first value. */
export const headerValue = (headers: Headers, name: string): string | undefined => {
  const v = headers[name]
  return typeof v === "string" ? v : v?.[0]
}
