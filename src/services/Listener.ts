/**
 * Listener: the socket server the gateway accepts connections from. It owns the
 * sockets and their transport limits (pre-auth frame size, sockets per address);
 * the connection program sees each accepted socket as a `Conn`.
 *
 * Layers: `ListenerWs` (HTTP + WebSocket on `node:http` and `ws`, production),
 * `ListenerMemory` (in-memory connections for tests and embedding).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Conn } from "../connections/conn.ts"

/** The address could not be listened on (in use, not on this host, not allowed). */
export class ListenFailed extends Schema.TaggedClass<ListenFailed>()("ListenFailed", {
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

/** TLS is on but there is no certificate to serve (unreadable files, openssl missing…). */
export class TlsUnavailable extends Schema.TaggedClass<TlsUnavailable>()("TlsUnavailable", {
  message: Schema.String
}) {}

export class ListenerError extends Schema.TaggedError<ListenerError>()("ListenerError", {
  reason: Schema.Union([ListenFailed, TlsUnavailable])
}) {
  override get message() {
    return this.reason.message
  }
}

/** Where a listener accepts connections. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
  /** The WebSocket URL clients on this host use (`wss://` when TLS is on). */
  readonly url: string
  /**
   * With TLS on: the SHA-256 of the certificate served, 64 lowercase hex (what
   * discovery advertises as `gatewayTlsSha256`, and clients pin).
   */
  readonly tlsFingerprint?: string | undefined
  /**
   * The gateway's own browser origins (`http://127.0.0.1:18789`, normalized): a page
   * there may connect without being listed in `gateway.controlUi.allowedOrigins`.
   * Absent (in-memory listeners): only listed origins are accepted.
   */
  readonly ownOrigins?: ReadonlyArray<string> | undefined
}

export interface ListenerShape {
  readonly address: ListenAddress
  /**
   * Serves every accepted connection with `handle`, each in its own fiber, until
   * interrupted. The socket is closed when `handle` ends, whatever its outcome.
   */
  readonly run: (handle: (conn: Conn) => Effect.Effect<void>) => Effect.Effect<never>
}

export class Listener extends Context.Service<Listener, ListenerShape>()("gatehouse/services/Listener") {}
