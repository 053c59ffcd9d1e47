/**
 * Wire constants of the OpenClaw Gateway protocol as gatehouse serves it.
 * Values follow the recorded 2026.9.6 release (see shared/spec).
 */

/** Protocol versions gatehouse speaks; the highest common one wins. */
export const SUPPORTED_PROTOCOLS = [3, 4] as const

/** Largest frame accepted after the handshake (25 MiB). */
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024

/** Largest frame accepted before the handshake completes (64 KiB). */
export const MAX_PREAUTH_PAYLOAD_BYTES = 64 * 1024

/** Queued outbound bytes beyond which a consumer counts as slow (50 MiB). */
export const MAX_BUFFERED_BYTES = 50 * 1024 * 1024

/** Keepalive `tick` cadence, also advertised in `hello-ok.policy`. */
export const TICK_INTERVAL_MS = 30_000

/** Cadence of the `health` broadcast. */
export const HEALTH_INTERVAL_MS = 60_000

/** A client that has not sent `connect` by then is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000

/** Unauthenticated sockets allowed per client IP at once. */
export const MAX_PREAUTH_CONNECTIONS_PER_IP = 32

/** The default gateway port. */
export const DEFAULT_GATEWAY_PORT = 18789

/** The port a `--dev` profile uses unless told otherwise. */
export const DEV_GATEWAY_PORT = 19001

/** Close codes the server sends. */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  policyViolation: 1008,
  tooLarge: 1009,
  serviceRestart: 1012,
  credentialsRevoked: 4001
} as const
