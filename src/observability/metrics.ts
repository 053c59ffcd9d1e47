/**
 * The gateway's metrics, on Effect's own `effect/Metric` (the default registry), and their
 * Prometheus text rendering for `GET /metrics`. Labels are bounded: outcomes are fixed words,
 * methods are the served method table (unknown methods are answered before the RPC server).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"

type Attributes = Record<string, string>

/** WebSocket connections being served (before and after the handshake). */
export const connections = Metric.gauge("gatehouse_connections", {
  description: "WebSocket connections being served, before and after the handshake"
})

const handshakes = (attributes: Attributes) => Metric.counter("gatehouse_handshakes_total", {
  description: "connect handshakes by outcome (ok, refused, pairing_required, rate_limited, invalid, protocol_mismatch, timeout, closed)",
  incremental: true,
  attributes
})

const rpcs = (attributes: Attributes) => Metric.counter("gatehouse_rpc_requests_total", {
  description: "requests answered by the RPC server, by method and outcome (ok or the protocol error code)",
  incremental: true,
  attributes
})

const invokeSeconds = (attributes: Attributes) => Metric.histogram("gatehouse_node_invoke_duration_seconds", {
  description: "node.invoke from the request sent to the node until its result, timeout or failure",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  attributes
})

const rateLimit = (attributes: Attributes) => Metric.counter("gatehouse_rate_limit_decisions_total", {
  description: "auth rate-limiter verdicts before a credential is checked (allow, delay, refuse)",
  incremental: true,
  attributes
})

const refused = (attributes: Attributes) => Metric.counter("gatehouse_rpc_refused_total", {
  description: "requests answered before the RPC server, by reason (invalid_frame, not_a_request, connect_again, unknown_method, duplicate_id, rate_limited, busy)",
  incremental: true,
  attributes
})

const channelUp = (attributes: Attributes) => Metric.gauge("gatehouse_channel_up", {
  description: "1 while a configured channel runs, 0 while it is stopped, restarting or disabled",
  attributes
})

// Tagged metrics are built once per label set, so the per-frame path only looks one up. The labels are
// the metric's own attributes: `Metric.withAttributes` merged them into a fresh context, and so built
// the series key again, on every update.
const tagged = <M extends Metric.Metric<any, any>>(make: (attributes: Attributes) => M) => {
  const cache = new Map<string, M>()
  return (attributes: Attributes): M => {
    const key = Object.values(attributes).join("\u0000")
    let m = cache.get(key)
    if (m === undefined) {
      m = make(attributes)
      cache.set(key, m)
    }
    return m
  }
}
const handshakesBy = tagged(handshakes)
const rpcsBy = tagged(rpcs)
const invokeBy = tagged(invokeSeconds)
const rateLimitBy = tagged(rateLimit)
const refusedBy = tagged(refused)
const channelUpBy = tagged(channelUp)

export type HandshakeOutcome = "ok" | "refused" | "pairing_required" | "rate_limited" | "invalid" | "protocol_mismatch" | "timeout" | "closed"

export const countHandshake = (outcome: HandshakeOutcome) => Metric.update(handshakesBy({ outcome }), 1)
/** Counts a request the RPC server answered; the update effect is built once per method and outcome. */
export const countRpc = (method: string, outcome: string): Effect.Effect<void> => {
  let byOutcome = rpcUpdates.get(method)
  if (byOutcome === undefined) rpcUpdates.set(method, byOutcome = new Map())
  let update = byOutcome.get(outcome)
  if (update === undefined) byOutcome.set(outcome, update = Metric.update(rpcsBy({ method, outcome }), 1))
  return update
}
// method → outcome → its counter's update (methods are the served table, outcomes fixed words: bounded).
const rpcUpdates = new Map<string, Map<string, Effect.Effect<void>>>()
/**
 * `countRpc` as a plain call in the running fiber's context: the response path already runs inside an
 * effect of its own, and an update effect per response cost two more steps there.
 */
export const countRpcUnsafe = (method: string, outcome: string, context: Context.Context<never>): void => {
  let byOutcome = rpcCounters.get(method)
  if (byOutcome === undefined) rpcCounters.set(method, byOutcome = new Map())
  let counter = byOutcome.get(outcome)
  if (counter === undefined) byOutcome.set(outcome, counter = rpcsBy({ method, outcome }))
  counter.updateUnsafe(1, context)
}
// method → outcome → its counter (bounded like rpcUpdates).
const rpcCounters = new Map<string, Map<string, Metric.Counter<number>>>()
export const recordInvoke = (outcome: "ok" | "error" | "timeout", seconds: number) => Metric.update(invokeBy({ outcome }), seconds)
export const countRateLimit = (decision: "Allow" | "Delay" | "Refuse") => Metric.update(rateLimitBy({ decision: decision.toLowerCase() }), 1)

/** Why a request was answered before it reached the RPC server (a fixed word, so the label stays bounded). */
export type RefusalReason = "invalid_frame" | "not_a_request" | "connect_again" | "unknown_method" | "duplicate_id" | "rate_limited" | "busy"

export const countRefused = (reason: RefusalReason): Effect.Effect<void> => {
  let update = refusedUpdates.get(reason)
  if (update === undefined) refusedUpdates.set(reason, update = Metric.update(refusedBy({ reason }), 1))
  return update
}
const refusedUpdates = new Map<RefusalReason, Effect.Effect<void>>()

/** Sets a channel's state in `gatehouse_channel_up` (channel ids come from the config, not from clients). */
export const setChannelUp = (channel: string, up: boolean) => Metric.update(channelUpBy({ channel }), up ? 1 : 0)

/** Counts a connection in the gauge while `effect` runs. */
export const trackConnection = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.andThen(connectionOpened, Effect.ensuring(effect, connectionClosed))

// Made once, not per connection: each live connection's finalizer would otherwise hold its own copy.
const connectionOpened = Metric.modify(connections, 1)
const connectionClosed = Metric.modify(connections, -1)

/** Prometheus text exposition (version 0.0.4) of every metric in the default registry. */
export const prometheusText = (): string => PrometheusMetrics.formatUnsafe(Context.empty())

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
