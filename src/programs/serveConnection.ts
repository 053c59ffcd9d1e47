/**
 * One client connection, start to end: the `connect.challenge`, the first-frame
 * `connect` within 10 s, version negotiation, auth, `hello-ok`, then every later
 * `req` handed to the RPC server. Every refusal is answered and closed with the
 * documented code; nothing a client sends can crash the gateway.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { addressSetOf } from "../net/addressSet.ts"
import { canonicalIp, isLoopbackIp } from "../net/ip.ts"
import { clientKey } from "../net/clientKey.ts"
import { FrameRouter, type FrameRouterShape, MAX_IN_FLIGHT_PER_CLIENT } from "../services/FrameRouter.ts"
import { type ConnectParams, ConnectParams as ConnectParamsSchema, type HelloOk, negotiateProtocol } from "../protocol/connect.ts"
import {
  CloseCode,
  HANDSHAKE_TIMEOUT_MS,
  MAX_BUFFERED_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_PREAUTH_PAYLOAD_BYTES,
  SUPPORTED_PROTOCOLS,
  TICK_INTERVAL_MS
} from "../protocol/constants.ts"
import { ErrorCode, GatewayError, invalidRequest, unknownMethod } from "../protocol/errors.ts"
import { decodeRequest, encodeFrame, type ErrorShape, type RequestFrame, type ResponseFrame } from "../protocol/frames.ts"
import { satisfies } from "../protocol/scopes.ts"
import { servedEvents, servedMethods } from "../protocol/methods.ts"
import type { Admitted } from "../auth/principal.ts"
import type { EventOptions, LiveConnection } from "../connections/liveConnection.ts"
import { Auth } from "../services/Auth.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { GatewayInfo, healthFor } from "../services/GatewayInfo.ts"
import { NodeRegistry } from "../services/NodeRegistry.ts"
import { GATEHOUSE_VERSION } from "../version.ts"
import { toWire } from "./wireErrors.ts"
import { busyError, CONNECTION_LIMIT_REASON, connectionLimitError, rateLimitedError } from "./budgetErrors.ts"
import { MethodRates, methodClass } from "../connections/methodBudget.ts"
import type { SessionTable } from "../connections/sessionBudget.ts"
import { countHandshake, countRefused, trackConnection } from "../observability/metrics.ts"
import { originAllowed } from "../net/origin.ts"
import { type Conn, hasProxyHeaders, headerValue } from "../connections/conn.ts"
import { isIP } from "node:net"

const served = new Set(servedMethods)
const decodeConnectParams = Schema.decodeUnknownResult(ConnectParamsSchema, { onExcessProperty: "error", errors: "all" })

/**
 * Runs one connection until it closes; `clientId` is its number for the RPC server. The handshake
 * runs to its end first, so the session that follows keeps none of it alive (the challenge, the
 * connect frame and its text, the hello-ok): 10k idle nodes hold only what their sessions need.
 */
export const serveConnection = (
  conn: Conn,
  clientId: number,
  ownOrigins: ReadonlyArray<string>,
  sessions: SessionTable
) =>
  trackConnection(
    Effect.flatMap(runHandshake(conn, ownOrigins, sessions), (opened) => opened === undefined ? Effect.void : runSession(conn, clientId, opened))
  )

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** What an accepted handshake hands the session: used while it starts, dropped once it serves. */
interface Opened {
  readonly connectId: string
  readonly params: ConnectParams
  readonly admitted: Admitted
  readonly protocol: number
  readonly remoteAddress: string
  readonly directLocal: boolean
  /** Gives back the socket budgets claimed for this session. */
  readonly release: () => void
}

// The challenge, the first frame, auth and the socket budgets; undefined when the connection was refused (and closed).
const runHandshake = Effect.fnUntraced(function*(
  conn: Conn,
  ownOrigins: ReadonlyArray<string>,
  sessions: SessionTable
) {
  // The config in force for this connection: origins and trusted proxies change live.
  const config = yield* SubscriptionRef.get((yield* GatewayConfig).live)
  // Before anything else (no credential read, no limiter touched): a browser page must be the gateway's own or listed.
  const origin = headerValue(conn.headers, "origin")
  // A browser page is never "the owner at the keyboard", even on loopback: any page the owner visits can open a socket.
  const directLocal = isLoopbackIp(conn.remoteAddress) && !hasProxyHeaders(conn.headers) && origin === undefined
  if (origin !== undefined && !originAllowed(origin, ownOrigins, config.config.allowedOrigins)) {
    yield* Effect.logWarning(`refused browser origin ${JSON.stringify(origin.slice(0, 200))} (CONTROL_UI_ORIGIN_NOT_ALLOWED)`).pipe(
      Effect.annotateLogs({ remote: conn.remoteAddress })
    )
    return yield* Effect.as(conn.close(CloseCode.policyViolation, ORIGIN_CLOSE_REASON), undefined)
  }

  const nonce = randomUUID()
  const challengedAt = yield* Clock.currentTimeMillis
  yield* sendJson(conn, { type: "event", event: "connect.challenge", payload: { nonce, ts: challengedAt, capabilities: [] } })

  const first = yield* Queue.take(conn.incoming).pipe(
    Effect.map(Option.some),
    Effect.catch(() => Effect.succeedNone),
    Effect.timeoutOrElse({ duration: HANDSHAKE_TIMEOUT_MS, orElse: () => Effect.succeed("timeout" as const) })
  )
  if (first === "timeout") return yield* Effect.as(Effect.andThen(countHandshake("timeout"), conn.close(CloseCode.normal, "handshake timeout")), undefined)
  if (Option.isNone(first)) return yield* Effect.as(countHandshake("closed"), undefined)
  const handshake = yield* handshakeFrom(conn, first.value)
  if (handshake === undefined) return yield* Effect.as(countHandshake("invalid"), undefined)

  const { frame, params } = handshake
  const protocol = negotiateProtocol(params.minProtocol, params.maxProtocol, SUPPORTED_PROTOCOLS)
  if (protocol === undefined) {
    yield* countHandshake("protocol_mismatch")
    return yield* Effect.as(
      refuse(conn, frame.id, new GatewayError({
        code: ErrorCode.invalidRequest,
        message: `protocol mismatch: this gateway speaks protocol ${SUPPORTED_PROTOCOLS.join(" and ")}, ` +
          `the client ${params.minProtocol}..${params.maxProtocol}; upgrade the older side`,
        details: { expectedProtocol: Math.max(...SUPPORTED_PROTOCOLS) }
      }), CloseCode.protocolError, "protocol mismatch"),
      undefined
    )
  }

  const auth = yield* Auth
  const remoteAddress = clientAddress(conn, config.config.trustedProxies)
  const admitted = yield* auth.authenticate(params, { remoteAddress, directLocal, peerAddress: conn.remoteAddress, headers: conn.headers }, nonce).pipe(Effect.result)
  if (Result.isFailure(admitted)) {
    const error = yield* toWire(admitted.failure)
    yield* Effect.logInfo("connect refused").pipe(
      Effect.annotateLogs({ remote: remoteAddress, client: params.client.id, reason: error.message })
    )
    const pairing = admitted.failure.reason._tag === "AuthPairingRequired"
    yield* countHandshake(pairing ? "pairing_required" : admitted.failure.reason._tag === "AuthRateLimited" ? "rate_limited" : "refused")
    return yield* Effect.as(refuse(conn, frame.id, error, CloseCode.policyViolation, pairing ? "pairing required" : reasonOf(error)), undefined)
  }

  // The client's and the device's socket budgets, taken before hello-ok and given back when the session ends.
  const claim = sessions.claim(remoteAddress, admitted.success.principal.deviceId, config.config.limits)
  if (claim._tag === "Refused") {
    yield* Effect.logWarning(`connect refused: ${claim.budget} connection budget full (${claim.limit})`).pipe(Effect.annotateLogs({ remote: remoteAddress }))
    yield* countHandshake("refused")
    return yield* Effect.as(refuse(conn, frame.id, connectionLimitError(claim), CloseCode.policyViolation, CONNECTION_LIMIT_REASON), undefined)
  }
  yield* countHandshake("ok")
  const opened: Opened = { connectId: frame.id, params, admitted: admitted.success, protocol, remoteAddress, directLocal, release: claim.release }
  return opened
})

/** The services a session uses, and the time it starts. */
const sessionServices = Effect.gen(function*() {
  return {
    hub: yield* ConnectionHub,
    info: yield* GatewayInfo,
    router: yield* FrameRouter,
    nodes: yield* NodeRegistry,
    connectedAtMs: yield* Clock.currentTimeMillis
  }
})
type SessionServices = Effect.Success<typeof sessionServices>

// Builds the session's long-lived parts, then starts and serves it. Nothing that stays alive while it
// serves (the stack's frames and what they hold) is made in a scope that sees `opened`: a closure keeps
// its whole scope alive. Interruption reaches only the two phases themselves (`restore`), so the
// finalizer and the socket budgets' release run however the session stops, between the phases included.
const runSession = (conn: Conn, clientId: number, opened: Opened) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(sessionServices, (services) => {
      const channel = sessionChannel(conn)
      const live: LiveConnection = {
        connId: randomUUID(),
        clientId,
        principal: opened.admitted.principal,
        client: opened.params.client,
        remoteAddress: opened.remoteAddress,
        connectedAtMs: services.connectedAtMs,
        sendEvent: channel.sendEvent,
        sendDirect: channel.sendDirect,
        close: channel.close
      }
      const end = endSession(services, clientId, live.connId, channel.markClosed, opened.release)
      return serveSession(restore, conn, clientId, services.router, end, startSession(conn, live, opened, services, channel))
    })
  )

// Everything registered from the session's start on is undone by the same finalizer, whatever fails; then
// the socket budgets go back. Built when it runs: a live session holds one closure for it, not a tree of effects.
const endSession = (services: SessionServices, clientId: number, connId: string, markClosed: () => void, release: () => void) =>
  Effect.suspend(() =>
    Effect.ensuring(
      Effect.all([services.router.detach(clientId), services.nodes.disconnect(connId), services.hub.unregister(connId), Effect.sync(markClosed)], { discard: true }),
      Effect.sync(release)
    )
  )

// `start` registers the session and answers hello-ok; it runs to its end (its generator and the hello-ok
// with it become garbage) before the requests are served. `start` is read here only, never in a closure.
const serveSession = <E, R>(
  restore: <A, E1, R1>(effect: Effect.Effect<A, E1, R1>) => Effect.Effect<A, E1, R1>,
  conn: Conn,
  clientId: number,
  router: FrameRouterShape,
  end: Effect.Effect<void>,
  start: Effect.Effect<InFlightCaps | undefined, E, R>
) =>
  Effect.flatMap(
    Effect.onError(restore(start), () => end),
    (caps) =>
      caps === undefined ? end : Effect.ensuring(
        restore(serveRequests(conn, clientId, router, caps).pipe(Effect.catchIf(Cause.isDone, () => Effect.void))),
        end
      )
  )

/** The sending side of one session: closures over the socket and its `seq` alone. */
const sessionChannel = (conn: Conn) => {
  let seq = 0
  let closed = false
  const close = (code: number, reason: string) =>
    Effect.suspend(() => {
      if (closed) return Effect.void
      closed = true
      return conn.close(code, reason)
    })
  const sendEvent = (event: string, payload: unknown, options?: EventOptions) =>
    Effect.suspend(() => {
      if (closed) return Effect.void
      if (conn.bufferedAmount() > MAX_BUFFERED_BYTES) {
        return options?.dropIfSlow === true ? Effect.void : close(CloseCode.policyViolation, "slow consumer")
      }
      seq++
      return sendJson(conn, {
        type: "event",
        event,
        payload,
        seq,
        ...(options?.stateVersion === undefined ? {} : { stateVersion: options.stateVersion })
      })
    })
  const sendDirect = (event: string, payload: unknown) =>
    Effect.suspend(() => (closed ? Effect.void : sendJson(conn, { type: "event", event, payload })))
  // Called once per answer, synchronously: only a close (or a transport without a synchronous send) is an effect.
  const respond = (frame: ResponseFrame): Effect.Effect<void> | undefined => {
    if (closed) return undefined
    // Responses obey the slow-consumer rule too: a client that never reads is closed, not buffered.
    if (conn.bufferedAmount() > MAX_BUFFERED_BYTES) return close(CloseCode.policyViolation, "slow consumer")
    if (conn.sendNow === undefined) return sendJson(conn, frame)
    conn.sendNow(encodeFrame(frame as never))
    return undefined
  }
  const markClosed = () => void (closed = true)
  return { close, sendEvent, sendDirect, respond, markClosed }
}
type SessionChannel = ReturnType<typeof sessionChannel>

/** The bytes a dispatched request may hold until it is answered, per connection and per client. */
interface InFlightCaps {
  readonly connection: number
  readonly client: number
}

// hello-ok, registration and (for a node) its command surface; undefined when the session ends at once.
const startSession = Effect.fnUntraced(function*(
  conn: Conn,
  live: LiveConnection,
  { admitted: { deviceToken }, connectId, directLocal, params, protocol }: Opened,
  { hub, info, nodes, router }: SessionServices,
  channel: SessionChannel
) {
  const { principal, connId, remoteAddress } = live
  // Large frames only for those who can send something large: nodes (invoke results) and operators with a scope.
  const largeFrames = principal.role === "node" || principal.scopes.length > 0
  const hello: HelloOk = {
    type: "hello-ok",
    protocol,
    server: { version: GATEHOUSE_VERSION, connId },
    features: { methods: servedMethods, events: servedEvents, ...(protocol >= 4 ? { capabilities: [] } : {}) },
    snapshot: {
      // Presence names clients and their addresses: only for those allowed to read it.
      presence: satisfies(principal.scopes, "operator.read") && principal.role === "operator" ? yield* hub.presence : [],
      health: healthFor(yield* info.health, satisfies(principal.scopes, "operator.read")),
      stateVersion: yield* hub.stateVersion,
      uptimeMs: yield* info.uptimeMs
    },
    auth: {
      method: principal.method,
      role: principal.role,
      scopes: principal.scopes,
      ...(deviceToken === undefined ? {} : { deviceToken: deviceToken.token, issuedAtMs: deviceToken.issuedAtMs })
    },
    policy: { maxPayload: largeFrames ? MAX_PAYLOAD_BYTES : MAX_PREAUTH_PAYLOAD_BYTES, maxBufferedBytes: MAX_BUFFERED_BYTES, tickIntervalMs: TICK_INTERVAL_MS }
  }
  if (largeFrames) conn.allowLargeFrames()
  yield* router.attach(live.clientId, channel.respond, clientKey(remoteAddress))
  yield* sendJson(conn, { type: "res", id: connectId, ok: true, payload: hello })
  yield* hub.register(live)
  // A rotation between this session's secret check and its registration would have missed it: end it here.
  const current = yield* SubscriptionRef.get((yield* GatewayConfig).live)
  const generation = current.secretGeneration
  if (
    (principal.secretGeneration !== undefined && principal.secretGeneration < generation) ||
    (principal.identityGeneration !== undefined && principal.identityGeneration < current.identityGeneration)
  ) {
    yield* channel.close(CloseCode.credentialsRevoked, "gateway secret rotated: reconnect with the new token")
    return undefined
  }
  if (principal.role === "node") yield* nodes.connect(live, params, directLocal)
  yield* Effect.logDebug("client connected").pipe(
    Effect.annotateLogs({ connId, client: params.client.id, mode: params.client.mode, remote: conn.remoteAddress })
  )
  // What a dispatched request holds until it is answered counts against the connection's byte budget too.
  const limits = current.config.limits
  const caps: InFlightCaps = { connection: limits.maxInFlightBytesPerConnection, client: limits.maxInFlightBytesPerAddress }
  return caps
})

// Requests are dispatched in the socket's callback where the transport allows it (no queue hop,
// arrival order kept: each one is submitted before the next frame is read); the loop then only
// waits for the end. A request never waits for an earlier one's answer either way.
const serveRequests = Effect.fnUntraced(function*(conn: Conn, clientId: number, router: FrameRouterShape, maxInFlight: InFlightCaps) {
  const rates = new MethodRates()
  if (conn.deliverTo !== undefined) {
    const run = Effect.runForkWith(yield* Effect.context<never>())
    conn.deliverTo((text) => void run(handleRequest(conn, clientId, router, text, rates, maxInFlight)))
  }
  while (true) {
    const text = yield* Queue.take(conn.incoming)
    yield* handleRequest(conn, clientId, router, text, rates, maxInFlight)
  }
})

// A plain function rather than a generator: it runs once per request frame. Every refusal made here,
// before the RPC server sees the request, is counted in gatehouse_rpc_refused_total.
const handleRequest = (
  conn: Conn,
  clientId: number,
  router: FrameRouterShape,
  text: string,
  rates: MethodRates,
  maxInFlight: { readonly connection: number; readonly client: number }
): Effect.Effect<void> => {
  const decoded = decodeRequest(text)
  if (Result.isFailure(decoded)) {
    return Effect.andThen(countRefused("invalid_frame"), sendError(conn, decoded.failure.id ?? "invalid", invalidRequest(`invalid request frame: ${decoded.failure.message}`).toShape()))
  }
  const frame = decoded.success
  if (frame.type !== "req") {
    const id = frame.type === "res" ? frame.id : "invalid"
    return Effect.andThen(countRefused("not_a_request"), sendError(conn, id, invalidRequest(`invalid request frame: clients send only "req" frames, got "${frame.type}"`).toShape()))
  }
  if (frame.method === "connect") return Effect.andThen(countRefused("connect_again"), sendError(conn, frame.id, invalidRequest("connect is only valid as the first request").toShape()))
  if (!served.has(frame.method)) return Effect.andThen(countRefused("unknown_method"), sendError(conn, frame.id, unknownMethod(frame.method).toShape()))
  // The frame's length stands for its size: counting UTF-8 bytes would walk every frame once more.
  const submit = Effect.flatMap(router.submit(clientId, frame, text.length, maxInFlight.connection, maxInFlight.client), (submitted) =>
    submitted === "accepted"
      ? Effect.void
      : submitted === "duplicate"
      ? Effect.andThen(countRefused("duplicate_id"), sendError(conn, frame.id, invalidRequest(`duplicate request id ${frame.id}: an earlier request with this id is still running`).toShape()))
      : Effect.andThen(countRefused("busy"), sendError(conn, frame.id, busyError(MAX_IN_FLIGHT_PER_CLIENT, maxInFlight.connection).toShape())))
  const cls = methodClass(frame.method)
  if (cls === undefined) return submit
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const take = rates.take(cls, now)
    return take.ok ? submit : Effect.andThen(countRefused("rate_limited"), sendError(conn, frame.id, rateLimitedError(frame.method, cls, take).toShape()))
  })
}

interface Handshake {
  readonly frame: RequestFrame
  readonly params: ConnectParams
}

const handshakeFrom = (conn: Conn, text: string): Effect.Effect<Handshake | undefined> =>
  Effect.gen(function*() {
    if (Buffer.byteLength(text) > MAX_PREAUTH_PAYLOAD_BYTES) {
      yield* conn.close(CloseCode.tooLarge, "preauth payload too large")
      return undefined
    }
    // decodeRequest answers as decodeFrame does, recognising a well-formed `req` without the full union decode.
    const decoded = decodeRequest(text)
    if (Result.isFailure(decoded)) {
      const error = invalidRequest(`invalid handshake: ${decoded.failure.message}`)
      yield* refuse(conn, decoded.failure.id, error, CloseCode.policyViolation, "invalid handshake")
      return undefined
    }
    const frame = decoded.success
    if (frame.type !== "req" || frame.method !== "connect") {
      const id = frame.type === "event" ? undefined : frame.id
      const error = invalidRequest("invalid handshake: first request must be connect")
      yield* refuse(conn, id, error, CloseCode.policyViolation, "invalid handshake")
      return undefined
    }
    const params = decodeConnectParams(frame.params ?? {})
    if (Result.isFailure(params)) {
      const error = invalidRequest(`invalid connect params: ${params.failure.message.replaceAll("\n", " ")}`)
      yield* refuse(conn, frame.id, error, CloseCode.policyViolation, "invalid connect params")
      return undefined
    }
    return { frame, params: params.success }
  })

const refuse = (conn: Conn, id: string | undefined, error: GatewayError, code: number, reason: string) =>
  Effect.andThen(id === undefined ? Effect.void : sendError(conn, id, error.toShape()), conn.close(code, reason))

const sendError = (conn: Conn, id: string, error: ErrorShape) => sendJson(conn, { type: "res", id, ok: false, error })

const sendJson = (conn: Conn, frame: unknown) => conn.send(encodeFrame(frame as never))

// The client's address: the socket peer, or for a configured trusted proxy the
// right-most X-Forwarded-For hop that is not itself a trusted proxy.
const clientAddress = (conn: Conn, trustedProxies: ReadonlyArray<string>) => {
  const peer = canonicalIp(conn.remoteAddress)
  const trusted = addressSetOf(trustedProxies)
  if (!trusted.has(peer)) return peer
  const forwarded = headerValue(conn.headers, "x-forwarded-for")
  if (forwarded === undefined) return peer
  const hops = forwarded.split(",").slice(-MAX_FORWARDED_HOPS).map((h) => canonicalIp(h.trim())).filter((h) => h.length > 0)
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (trusted.has(hop)) continue
    // A real proxy appends an address; anything else, or a claim to be this host, is forged.
    return isIP(hop) === 0 || isLoopbackIp(hop) ? UNATTRIBUTABLE : hop
  }
  return peer
}

// The one limiter key shared by every forwarded client whose address is forged or malformed:
// locked out like any remote client, and never a fresh key per attempt.
const UNATTRIBUTABLE = "forwarded-unattributable"

// A chain longer than this is not a real proxy path; only its right-most hops are read.
const MAX_FORWARDED_HOPS = 16

// Close reasons are limited to 123 bytes (not characters) by the WebSocket spec.
const reasonOf = (error: GatewayError) => {
  let reason = error.message
  while (Buffer.byteLength(reason) > 120) reason = reason.slice(0, -1)
  return reason
}

// The close reason of a refused origin: the code clients match on, and the fix (under the spec's 123 bytes).
const ORIGIN_CLOSE_REASON = "CONTROL_UI_ORIGIN_NOT_ALLOWED: origin not allowed; add it to gateway.controlUi.allowedOrigins"
