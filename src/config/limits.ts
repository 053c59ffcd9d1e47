/**
 * `gateway.limits.*`: the budgets of what a client can make the gateway hold
 * (authenticated sockets, bytes of frames in flight, pending pairing requests,
 * node event subscriptions). Every key has a safe default; zero, negative,
 * fractional or self-contradicting values are refused at start, since they would
 * silently turn a budget off or lock everyone out.
 */
import * as Schema from "effect/Schema"
import { MAX_PAYLOAD_BYTES } from "../protocol/constants.ts"

const Positive = Schema.Int.check(Schema.isGreaterThan(0))

/** The file's `gateway.limits` object. */
export const LimitsConfig = Schema.Struct({
  maxConnectionsPerAddress: Schema.optionalKey(Positive),
  maxConnectionsPerDevice: Schema.optionalKey(Positive),
  maxInFlightBytesPerConnection: Schema.optionalKey(Positive),
  maxInFlightBytesPerAddress: Schema.optionalKey(Positive),
  maxPendingPairings: Schema.optionalKey(Positive),
  maxPendingPairingsPerAddress: Schema.optionalKey(Positive),
  maxSubscribedNodes: Schema.optionalKey(Positive)
})
export type LimitsConfig = typeof LimitsConfig.Type

/** The effective budgets. */
export interface Limits {
  /** Authenticated sockets one remote client (IPv4 address, IPv6 /64) may hold; loopback is bounded by the listener's socket cap. */
  readonly maxConnectionsPerAddress: number
  /** Authenticated sockets one device identity may hold (an app's operator and node sessions, a reconnect overlapping the old one). */
  readonly maxConnectionsPerDevice: number
  /** Bytes of received frames one connection may have waiting to be handled. */
  readonly maxInFlightBytesPerConnection: number
  /** The same for all connections of one client together. */
  readonly maxInFlightBytesPerAddress: number
  /** Pending pairing requests a store holds at most (device and node pairing each). */
  readonly maxPendingPairings: number
  /** Pending pairing requests opened from one client. */
  readonly maxPendingPairingsPerAddress: number
  /** Node ids one connection may name in `node.events.subscribe` (more: subscribe to all). */
  readonly maxSubscribedNodes: number
}

export const DEFAULT_LIMITS: Limits = {
  maxConnectionsPerAddress: 128,
  maxConnectionsPerDevice: 8,
  maxInFlightBytesPerConnection: 64 * 1024 * 1024,
  maxInFlightBytesPerAddress: 256 * 1024 * 1024,
  maxPendingPairings: 256,
  maxPendingPairingsPerAddress: 16,
  maxSubscribedNodes: 1024
}

/** The effective budgets, or why the configured ones cannot work. */
export const resolveLimits = (file: LimitsConfig | undefined, where: string): Limits | string => {
  const limits: Limits = { ...DEFAULT_LIMITS, ...file }
  if (limits.maxInFlightBytesPerConnection < MAX_PAYLOAD_BYTES) {
    return `gateway.limits.maxInFlightBytesPerConnection in ${where} must be at least ${MAX_PAYLOAD_BYTES} (the largest frame an operator may send); got ${limits.maxInFlightBytesPerConnection}`
  }
  if (limits.maxInFlightBytesPerAddress < limits.maxInFlightBytesPerConnection) {
    return `gateway.limits.maxInFlightBytesPerAddress in ${where} must be at least maxInFlightBytesPerConnection (${limits.maxInFlightBytesPerConnection}); got ${limits.maxInFlightBytesPerAddress}`
  }
  if (limits.maxPendingPairingsPerAddress > limits.maxPendingPairings) {
    return `gateway.limits.maxPendingPairingsPerAddress in ${where} must not exceed maxPendingPairings (${limits.maxPendingPairings}); got ${limits.maxPendingPairingsPerAddress}`
  }
  return limits
}
