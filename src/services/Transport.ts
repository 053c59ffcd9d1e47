/**
 * Transport: how a client reaches a gateway. Given the gateway's URL it opens a
 * `ws` WebSocket that lives as long as the caller's scope. The direct layer dials
 * the URL; an SSH layer starts `ssh -N -L`, waits for the forward, and dials its
 * local end instead (so a transport may rewrite the URL), closing the forward with
 * the scope. Whatever the route, failures are one `TransportError` whose message
 * says what to try next.
 *
 * TLS: a `wss://` socket is pinned. The fingerprint of the certificate the peer
 * actually presented is compared with `OpenOptions.tls.fingerprint` right after
 * the TLS handshake, and on a mismatch (or with no pin at all) the socket is
 * destroyed before any byte of the upgrade request, so no credential is sent.
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

// ---------------------------------------------------------------------------
// SSH forward failures (the ssh transport): each says what to run to fix it
// ---------------------------------------------------------------------------

/** The `ssh` program could not be started (not installed, or not on PATH). */
export class SshMissing extends Schema.TaggedError<SshMissing>()("SshMissing", {
  command: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot start \`${this.command}\` for the SSH forward (${this.detail}); install the OpenSSH client ` +
      `(apt-get install openssh-client) or put ssh on PATH`
  }
}

/** The SSH server refused every key offered (BatchMode: no password prompts). */
export class SshAuthRefused extends Schema.TaggedError<SshAuthRefused>()("SshAuthRefused", {
  target: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `ssh ${this.target} refused our key (${this.detail}); add your public key to the server's ` +
      `~/.ssh/authorized_keys (ssh-copy-id ${this.target}), or name the key with --ssh-identity / gateway.remote.sshIdentity`
  }
}

/** The server's host key is not the one known_hosts holds, or is not known at all. */
export class SshHostKeyRejected extends Schema.TaggedError<SshHostKeyRejected>()("SshHostKeyRejected", {
  target: Schema.String,
  /** True when known_hosts holds a different key (possible interception); false when the host is unknown. */
  changed: Schema.Boolean,
  detail: Schema.String
}) {
  override get message() {
    return this.changed
      ? `ssh ${this.target}: the server's host key CHANGED since it was recorded in known_hosts; this may be an attack. ` +
        `If the server was really reinstalled, check its new fingerprint out of band, then remove the old key ` +
        `(ssh-keygen -R <host>) and connect once with \`ssh ${this.target}\``
      : `ssh ${this.target}: the server's host key is not in known_hosts and BatchMode cannot ask; connect once ` +
        `interactively (\`ssh ${this.target}\`) and confirm the fingerprint, then retry`
  }
}

/** The local end of the forward could not be bound. */
export class SshLocalPortInUse extends Schema.TaggedError<SshLocalPortInUse>()("SshLocalPortInUse", {
  port: Schema.Number,
  detail: Schema.String
}) {
  override get message() {
    return `cannot listen on 127.0.0.1:${this.port} for the SSH forward: address already in use; ` +
      `choose another local port (gatehouse tunnel --local-port) or stop what holds it`
  }
}

/** The forward is up but nothing listens on the gateway port on the SSH server. */
export class SshRemotePortClosed extends Schema.TaggedError<SshRemotePortClosed>()("SshRemotePortClosed", {
  target: Schema.String,
  remotePort: Schema.Number,
  detail: Schema.String
}) {
  override get message() {
    return `the SSH forward to ${this.target} works, but nothing answers on 127.0.0.1:${this.remotePort} there (${this.detail}); ` +
      `start the gateway on that host (\`gatehouse gateway run\`), or name its port with gateway.remote.sshRemotePort`
  }
}

/** The SSH server itself could not be reached (refused, no route, no such host, timeout). */
export class SshConnectFailed extends Schema.TaggedError<SshConnectFailed>()("SshConnectFailed", {
  target: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot reach the SSH server ${this.target}: ${this.detail}; check the host and port ` +
      `(--ssh user@host:port) and that sshd runs there`
  }
}

/** ssh ended (or never became ready) for another reason; its last words are in `detail`. */
export class SshExited extends Schema.TaggedError<SshExited>()("SshExited", {
  target: Schema.String,
  exitCode: Schema.optionalKey(Schema.Number),
  detail: Schema.String
}) {
  override get message() {
    return `the SSH forward to ${this.target} ${this.exitCode === undefined ? "stopped" : `ended (ssh exit ${this.exitCode})`}: ` +
      `${this.detail}; try \`ssh -v ${this.target}\` to see why`
  }
}

/** The gateway presented a certificate other than the pinned one; nothing was sent. */
export class PinMismatch extends Schema.TaggedError<PinMismatch>()("PinMismatch", {
  url: Schema.String,
  /** The pinned SHA-256 (64 lowercase hex). */
  expected: Schema.String,
  /** The SHA-256 of the certificate the socket presented. */
  presented: Schema.String,
  /** Where the pin came from, for the message (`--tls-fingerprint`, `the pin stored in …`). */
  pinnedBy: Schema.String
}) {
  override get message() {
    return `the gateway's certificate changed: ${this.url} presented a certificate with SHA-256 ${this.presented}, ` +
      `but ${this.pinnedBy} pins ${this.expected}. Nothing was sent (no upgrade, no credentials). ` +
      `If the gateway's owner rotated it (\`gatehouse gateway rotate-cert\`), compare the new fingerprint with ` +
      `\`gatehouse status\` on the gateway host, then re-pin with: --trust-fingerprint ${this.presented}. ` +
      `Otherwise someone may be intercepting the connection.`
  }
}

/** A `wss://` gateway whose certificate nobody pinned; nothing was sent. */
export class Unpinned extends Schema.TaggedError<Unpinned>()("Unpinned", {
  url: Schema.String,
  presented: Schema.String
}) {
  override get message() {
    return `${this.url} presented a TLS certificate with SHA-256 ${this.presented}, which is not pinned, so nothing was sent. ` +
      `Check it against \`gatehouse status\` on the gateway host (or the output of \`gatehouse gateway rotate-cert\`), ` +
      `then trust it once with: --trust-fingerprint ${this.presented} (or pin it with --tls-fingerprint / gateway.remote.tlsFingerprint)`
  }
}

export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Union([
    Unreachable,
    Timeout,
    PinMismatch,
    Unpinned,
    SshMissing,
    SshAuthRefused,
    SshHostKeyRejected,
    SshLocalPortInUse,
    SshRemotePortClosed,
    SshConnectFailed,
    SshExited
  ])
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
  /** The pin a `wss://` gateway's certificate must match; without one a `wss://` gateway is refused as `Unpinned`. */
  readonly tls?: TlsPin | undefined
}

/** A pinned certificate fingerprint and where it came from. */
export interface TlsPin {
  /** SHA-256 of the certificate, 64 lowercase hex. */
  readonly fingerprint: string
  /** Where the pin came from, for messages: `--tls-fingerprint`, `gateway.remote.tlsFingerprint`, … */
  readonly pinnedBy: string
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
