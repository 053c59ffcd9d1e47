/**
 * Transport: how a client reaches a gateway. Given the gateway's URL it opens a
 * `ws` WebSocket that lives as long as the caller's scope. The direct layer dials
 * the URL; an SSH layer starts `ssh -N -L`, waits for the forward, and dials its
 * local end instead (so a transport may rewrite the URL), closing the forward with
 * the scope. Whatever the route, failures are one `TransportError` whose message
 * says what to try next.
 */
import type * as Effect from "effect/Effect"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { WebSocket } from "ws"

/** Nothing answered at the address: refused, no route, no such host, the upgrade declined… */
export class Unreachable extends Schema.TaggedError<Unreachable>()("Unreachable", {
  url: Schema.String,
  /** What the network said (`connect ECONNREFUSED 127.0.0.1:18789`, `Unexpected server response: 503`). */
  detail: Schema.String,
  /** The system error code, when there is one (`ECONNREFUSED`, `ENOTFOUND`). */
  code: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    return this.code === "ECONNREFUSED"
      ? `cannot reach a gateway at ${this.url}: connection refused (is it running? start it with \`gatehouse gateway run\`)`
      : `cannot reach a gateway at ${this.url}: ${this.detail}`
  }
}

/** The WebSocket did not open in time. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  url: Schema.String,
  ms: Schema.Number
}) {
  override get message() {
    return `cannot reach a gateway at ${this.url}: no WebSocket handshake within ${this.ms} ms ` +
      `(check the host and port; a firewall may be dropping the connection; --timeout allows longer)`
  }
}

export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Union([Unreachable, Timeout])
}) {
  override get message() {
    return this.reason.message
  }
}

/** How a socket is opened. */
export interface OpenOptions {
  /** Give up when the socket is not open within this many milliseconds. */
  readonly timeoutMs: number
  /** The largest frame accepted from the gateway, in bytes. */
  readonly maxPayload: number
}

export interface TransportShape {
  /** What this transport is, for logs and messages: `direct`, `ssh`. */
  readonly name: string
  /**
   * Opens a WebSocket to the gateway at `url`, closed when the scope closes.
   * The socket comes back open and paused, so that no frame the gateway sent at
   * once (its `connect.challenge`) is emitted before the caller listens: attach
   * the listeners, then call `resume()`.
   */
  readonly open: (url: string, options: OpenOptions) => Effect.Effect<WebSocket, TransportError, Scope.Scope>
}

export class Transport extends Context.Service<Transport, TransportShape>()("gatehouse/services/Transport") {}
