/**
 * The production Listener: one port serves HTTP probes (`/healthz`, `/readyz`)
 * and the gateway WebSocket on any other path. Built on `node:http` and `ws`
 * (the platform's socket does not expose per-socket receive limits or buffered
 * bytes, which the protocol's pre-auth limit and slow-consumer rule need).
 * Unauthenticated sockets are capped per address (HTTP 503 beyond); bytes of
 * received frames not yet handled are budgeted per connection and per client
 * (`gateway.limits.maxInFlightBytes*`, the sender closed 1008 beyond). With
 * `gateway.tls.enabled` the same port speaks only TLS (`wss://`, HTTPS probes),
 * with the user's certificate or one generated under the state dir.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as NodeServices from "@effect/platform-node/NodeServices"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { hostname, networkInterfaces } from "node:os"
import type { Duplex } from "node:stream"
import { type RawData, type WebSocket, WebSocketServer } from "ws"
import { type Conn, hasProxyHeaders } from "../connections/conn.ts"
import { secretEquals } from "../auth/secretEquals.ts"
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../observability/metrics.ts"
import { corkPerTick } from "../net/corkPerTick.ts"
import { canonicalIp, isLoopbackIp } from "../net/ip.ts"
import { hostAllowed, originAllowed, ownOrigins, servedHosts } from "../net/origin.ts"
import { isControlUiPath, loadControlUi, lookupAsset, SECURITY_HEADERS } from "../http/controlUi.ts"
import { CloseCode, MAX_PAYLOAD_BYTES, MAX_PREAUTH_CONNECTIONS_PER_IP, MAX_PREAUTH_PAYLOAD_BYTES } from "../protocol/constants.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { ListenFailed, Listener, ListenerError, TlsUnavailable } from "../services/Listener.ts"
import { loadOrCreateCertificate } from "../tls/certificate.ts"
import { type InFlightLimits, InFlightTable } from "../connections/inFlightBudget.ts"

// Not `import … from "node:http"`: an ES import of node:http reads every export, and its lazy
// WebSocket/MessageEvent getters load undici (~14 MiB of RSS the gateway never uses). node:https
// (and OpenSSL's TLS set-up with it) only when TLS is on.
const { createServer } = process.getBuiltinModule("node:http")

/** Listens where the config says (`bind`, `port`); closes every socket with 1012 on the way down. */
export const layer = Layer.effect(
  Listener,
  Effect.gen(function*() {
    const { config, host, secrets, live } = yield* GatewayConfig
    const limiter = yield* RateLimiter
    const tls = config.tls.enabled.value
      ? yield* loadOrCreateCertificate(config.paths.stateDir, config.tls).pipe(
        Effect.provide(NodeServices.layer),
        Effect.mapError((e) => new ListenerError({ reason: new TlsUnavailable({ message: `TLS is on but ${e.message}` }) }))
      )
      : undefined
    const fibers = yield* FiberSet.make()
    // The Control UI's files are read once here; requests only look them up.
    const ui = loadControlUi()
    if (ui._tag === "Missing") yield* Effect.logWarning(`Control UI unavailable: ${ui.reason}`)
    const runFork = yield* FiberSet.runtime(fibers)<never>()
    const preauth = new Map<string, number>()
    // Bytes of received frames not yet handled, per connection and per client.
    const inFlight = new InFlightTable()
    let handler: ((conn: Conn) => Effect.Effect<void>) | undefined
    const waiting: Array<(handle: (conn: Conn) => Effect.Effect<void>) => void> = []
    let stopped = false

    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PREAUTH_PAYLOAD_BYTES })
    const onConnection = (ws: WebSocket, request: IncomingMessage) => {
      const remoteAddress = canonicalIp(request.socket.remoteAddress ?? "unknown")
      const count = preauth.get(remoteAddress) ?? 0
      preauth.set(remoteAddress, count + 1)
      let counted = true
      const release = () => {
        if (!counted) return
        counted = false
        const n = (preauth.get(remoteAddress) ?? 1) - 1
        if (n <= 0) preauth.delete(remoteAddress)
        else preauth.set(remoteAddress, n)
      }
      const conn = adaptSocket(ws, request, remoteAddress, release, inFlight, config.limits)
      const start = (handle: (conn: Conn) => Effect.Effect<void>) =>
        runFork(
          handle(conn).pipe(
            Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("connection failed", cause)),
            Effect.ensuring(Effect.sync(() => {
              release()
              if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate()
            }))
          )
        )
      // Sockets accepted before `run` wait for it; after it, none is served.
      if (stopped) {
        release()
        ws.close(CloseCode.serviceRestart, "service restart")
      }
      else if (handler === undefined) waiting.push(start)
      else start(handler)
    }

    // Filled in once the port is known; until then no browser origin is the gateway's own (fail closed).
    let own: ReadonlyArray<string> = []
    const configuredHosts = [host, config.customHost.value].filter((h): h is string => h !== undefined && h !== "")
    // DNS rebinding: a request on a loopback socket must name a loopback host or the configured one.
    // The verdict per Host header (parsing it as a URL costs more than the rest of the check); capped, oldest out first.
    const hostVerdicts = new Map<string, boolean>()
    const allowedHost = (header: string | undefined) => {
      if (header === undefined) return hostAllowed(header, configuredHosts)
      let allowed = hostVerdicts.get(header)
      if (allowed === undefined) {
        allowed = hostAllowed(header, configuredHosts)
        if (hostVerdicts.size >= MAX_HOST_VERDICTS) hostVerdicts.delete(hostVerdicts.keys().next().value!)
        hostVerdicts.set(header, allowed)
      }
      return allowed
    }
    const hostRefused = (request: IncomingMessage) =>
      isLoopbackIp(canonicalIp(request.socket.localAddress ?? "")) && !allowedHost(request.headers.host)
    const httpRoutes = (request: IncomingMessage, response: ServerResponse) => {
      const origin = request.headers.origin
      if (origin !== undefined && !originAllowed(origin, own, SubscriptionRef.getUnsafe(live).config.allowedOrigins)) {
        return refuseHttp(response, 403, { ok: false, code: "CONTROL_UI_ORIGIN_NOT_ALLOWED", error: ORIGIN_HINT })
      }
      if (isControlUiPath(request.url)) return serveControlUi(request, response, lookupAsset(ui, request.url), ui._tag === "Missing" ? ui.reason : undefined)
      return probes(request, response)
    }

    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (hostRefused(request)) {
        socket.end("HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nHost not allowed (DNS rebinding guard): use 127.0.0.1, localhost or the configured host\n")
        return
      }
      const remote = canonicalIp(request.socket.remoteAddress ?? "unknown")
      if ((preauth.get(remote) ?? 0) >= MAX_PREAUTH_CONNECTIONS_PER_IP) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nToo many unauthenticated sockets\n")
        return
      }
      // The 101 response and the challenge (written by the connection's first, synchronous steps) leave in one
      // write: one syscall and one wake-up of the client instead of two. `end` and `destroy` flush or drop it as before.
      socket.cork()
      try {
        wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, request))
      } finally {
        socket.uncork()
      }
    }
    const makeServer = (): Server => {
      // Sockets that have not upgraded yet are short-lived: a TLS handshake or request headers that
      // dawdle are dropped, so idle half-open sockets cannot pile up before the per-address upgrade cap applies.
      // Node checks those timeouts only every connectionsCheckingInterval (30 s by default): check every second.
      const timeouts = { headersTimeout: PREUPGRADE_TIMEOUT_MS, requestTimeout: PREUPGRADE_TIMEOUT_MS, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }
      const server: Server = tls === undefined
        ? createServer(timeouts, routes)
        : process.getBuiltinModule("node:https").createServer({ ...timeouts, cert: tls.cert, key: tls.key, ALPNProtocols: ["http/1.1"], handshakeTimeout: PREUPGRADE_TIMEOUT_MS }, routes)
      server.maxConnections = MAX_SOCKETS
      // A TLS handshake that fails (a plaintext client, a scanner) only ends that socket.
      server.on("tlsClientError", (_err, socket) => socket.destroy())
      server.on("upgrade", onUpgrade)
      server.on("clientError", (_err, socket) => socket.destroy())
      return server
    }
    // `/metrics` is open to direct loopback; anyone else presents the secret of the active auth mode as a
    // Bearer. Every guess goes through the RateLimiter, like a handshake's, so the port is no side door.
    const routes = (request: IncomingMessage, response: ServerResponse) => {
      // DNS rebinding: checked before any route, probes and metrics alike.
      if (hostRefused(request)) return refuseHttp(response, 421, { ok: false, error: HOST_HINT })
      if ((request.url ?? "/").split("?")[0] !== "/metrics") return httpRoutes(request, response)
      const direct = isLoopbackIp(canonicalIp(request.socket.remoteAddress ?? "")) && !hasProxyHeaders(request.headers)
      if (direct) return serveMetrics(request, response)
      const remote = canonicalIp(request.socket.remoteAddress ?? "unknown")
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1]
      const unauthorized = () => {
        response.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer", "cache-control": "no-store" })
        response.end(JSON.stringify({ ok: false, error: "unauthorized: send the gateway token as Authorization: Bearer <token> (loopback needs none)" }))
      }
      runFork(Effect.gen(function*() {
        const verdict = yield* limiter.check(remote)
        if (verdict._tag === "Refuse") {
          response.writeHead(429, { "content-type": "application/json", "retry-after": String(Math.ceil(verdict.retryAfterMs / 1000)), "cache-control": "no-store" })
          return response.end(JSON.stringify({ ok: false, error: "too many wrong credentials from this address; try again later" }))
        }
        if (verdict._tag === "Delay") yield* Effect.sleep(verdict.ms)
        const s = yield* secrets
        const mode = SubscriptionRef.getUnsafe(live).config.authMode.value
        const active = mode === "token" ? s.token : mode === "password" ? s.password : undefined
        if (bearer !== undefined && active !== undefined && secretEquals(bearer, Redacted.value(active.value))) {
          yield* limiter.succeed(remote)
          return serveMetrics(request, response)
        }
        yield* limiter.fail(remote, "metrics-bearer")
        return unauthorized()
      }).pipe(Effect.catchCause((cause) =>
        Effect.sync(() => {
          if (response.headersSent) return response.destroy()
          response.writeHead(503, { "content-type": "application/json", "cache-control": "no-store" })
          response.end(JSON.stringify({ ok: false, error: "metrics are unavailable right now (rate limiter or config unreadable); see the gateway log" }))
        }).pipe(Effect.andThen(Effect.logWarning("metrics request failed", cause)))
      )))
    }
    const server = makeServer()

    const servers: Array<Server> = [server]
    const port = yield* Effect.acquireRelease(
      listen(server, host, config.port.value),
      () =>
        Effect.forEach(servers, (srv) =>
          Effect.callback<void>((resume) => {
            for (const ws of wss.clients) ws.close(CloseCode.serviceRestart, "service restart")
            srv.close(() => resume(Effect.void))
            srv.closeAllConnections()
            for (const ws of wss.clients) ws.terminate()
          }), { discard: true, concurrency: "unbounded" })
    )
    // A gateway bound to one non-loopback address also listens on 127.0.0.1, so its
    // owner's commands on the same host connect as direct loopback (and can approve devices).
    if (!isLoopbackIp(host) && host !== "0.0.0.0" && host !== "::") {
      const local = makeServer()
      const bound = yield* Effect.result(listen(local, "127.0.0.1", port))
      if (bound._tag === "Success") servers.push(local)
      else yield* Effect.logWarning(`also listening on 127.0.0.1:${port} failed (${bound.failure.message}); local commands must use --url`)
    }
    const urlHost = host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
    own = ownOrigins({
      tls: tls !== undefined,
      port,
      hosts: servedHosts(host, {
        alsoLoopback: servers.length > 1,
        configuredHost: config.customHost.value,
        machineNames: [hostname(), `${hostname()}.local`],
        interfaceAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, "")))
      })
    })
    return Listener.of({
      address: {
        host,
        port,
        ownOrigins: own,
        url: `${tls === undefined ? "ws" : "wss"}://${urlHost}:${port}`,
        ...(tls === undefined ? {} : { tlsFingerprint: tls.fingerprint })
      },
      run: (handle) =>
        Effect.suspend(() => {
          handler = handle
          for (const start of waiting.splice(0)) start(handle)
          return Effect.never
        }).pipe(Effect.ensuring(Effect.suspend(() => {
          handler = undefined
          stopped = true
          // The connections end with the loop that serves them, before the services they use go away.
          return FiberSet.clear(fibers)
        })))
    })
  })
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** How long a socket may take to complete its TLS handshake and send its request headers. */
const PREUPGRADE_TIMEOUT_MS = 10_000
/** Host headers whose verdict is remembered (a handful in practice: the names clients use for this gateway). */
const MAX_HOST_VERDICTS = 256
/** Sockets one listener holds at most (10k nodes, plus room for operators). */
const MAX_SOCKETS = 16_384

const listen = (server: Server, host: string, port: number) =>
  Effect.callback<number, ListenerError>((resume) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const message = e.code === "EADDRINUSE"
        ? `port ${port} on ${host} is already in use; another gateway may be running (check with \`gatehouse gateway status\`), or pick another port with --port`
        : e.code === "EADDRNOTAVAIL"
        ? `cannot listen on ${host}: no interface on this host has that address (check --host / gateway.customBindHost)`
        : e.code === "EACCES"
        ? `not allowed to listen on ${host}:${port} (ports below 1024 need privileges); use --port`
        : `cannot listen on ${host}:${port}: ${e.message}`
      resume(Effect.fail(new ListenerError({ reason: new ListenFailed({ host, port, message }) })))
    }
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : port))
    })
  })

/** Why a Host header is refused (DNS rebinding), and the fix. */
const HOST_HINT = "host not allowed: this gateway answers only to loopback names and its configured host (DNS rebinding guard)"

/** Why a browser origin is refused, and the fix. */
const ORIGIN_HINT = "origin not allowed (open the Control UI from the gateway's own address or add the origin to gateway.controlUi.allowedOrigins)"

const refuseHttp = (response: ServerResponse, status: number, value: unknown) => {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", connection: "close" })
  response.end(JSON.stringify(value))
}

const probes = (request: IncomingMessage, response: ServerResponse) => {
  const path = (request.url ?? "/").split("?")[0]
  const body = (status: number, value: unknown) => {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
    response.end(request.method === "HEAD" ? undefined : JSON.stringify(value))
  }
  if (request.method !== "GET" && request.method !== "HEAD") return body(405, { ok: false, error: "method not allowed" })
  switch (path) {
    case "/health":
    case "/healthz":
      return body(200, { ok: true, status: "live" })
    case "/ready":
    case "/readyz":
      return body(200, { ok: true, status: "ready" })
    default:
      return body(404, { ok: false, error: "not found: the gateway serves its WebSocket here, the Control UI at /, and /healthz, /readyz" })
  }
}

// One of the fixed Control UI files, from memory, with the strict headers; HEAD answers like GET without a body.
const serveControlUi = (request: IncomingMessage, response: ServerResponse, asset: { body: Buffer; contentType: string } | undefined, missing: string | undefined) => {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { ...SECURITY_HEADERS, allow: "GET, HEAD", "content-type": "application/json" })
    return response.end(JSON.stringify({ ok: false, error: "method not allowed" }))
  }
  if (asset === undefined) {
    response.writeHead(503, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
    return response.end(request.method === "HEAD" ? undefined : `Control UI unavailable: ${missing ?? "not installed"}\n`)
  }
  response.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.contentType, "content-length": asset.body.length, "cache-control": "no-cache" })
  response.end(request.method === "HEAD" ? undefined : asset.body)
}

const serveMetrics = (request: IncomingMessage, response: ServerResponse) => {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { "content-type": "application/json" })
    return response.end(JSON.stringify({ ok: false, error: "method not allowed" }))
  }
  response.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" })
  response.end(request.method === "HEAD" ? undefined : prometheusText())
}

type WsInternals = { _receiver?: { _maxPayload?: number } }

// Frames a client may have waiting unread: one connect before the handshake, a
// generous pipeline after it. A client that floods past that is closed, so a
// stalled reader can never buffer unbounded memory.
const MAX_QUEUED_PREAUTH = 4
const MAX_QUEUED = 1024
/**
 * Bytes of answers held back to be written together at most: past this the batch is written at once.
 * Well under the 64 KiB past which a closing socket is dropped rather than closed (see `close`), so a
 * batch alone never tips a close into a drop.
 */
const MAX_CORKED_BYTES = 16 * 1024
/** How long a closed socket may take to finish the closing handshake before it is dropped. */
const CLOSE_GRACE_MS = 2_000

const adaptSocket = (
  ws: WebSocket,
  request: IncomingMessage,
  remoteAddress: string,
  onAuthenticated: () => void,
  inFlight: InFlightTable,
  limits: InFlightLimits
): Conn => {
  const incoming = Effect.runSync(Queue.unbounded<string, Cause.Done>())
  const bytes = inFlight.open(remoteAddress, () => Queue.sizeUnsafe(incoming))
  let limit = MAX_QUEUED_PREAUTH
  let direct: ((text: string) => void) | undefined
  // Answers to one read's frames leave in one write (16 requests in flight: ~40 % less server CPU per request).
  const batch = corkPerTick(request.socket, MAX_CORKED_BYTES)
  ws.on("message", (data: RawData, isBinary: boolean) => {
    if (direct !== undefined) {
      batch.hold()
      return direct(isBinary ? "\u0000binary" : rawToString(data))
    }
    if (Queue.sizeUnsafe(incoming) >= limit) {
      ws.close(CloseCode.policyViolation, "too many unanswered frames")
      Queue.endUnsafe(incoming)
      return
    }
    const over = bytes.admit(rawLength(data), limits)
    if (over !== "ok") {
      // The sender is closed; the client's other connections keep their share.
      ws.close(CloseCode.policyViolation, over === "connection" ? "too many bytes in flight on this connection" : "too many bytes in flight from this address")
      Queue.endUnsafe(incoming)
      return
    }
    Queue.offerUnsafe(incoming, isBinary ? "\u0000binary" : rawToString(data))
  })
  ws.once("close", () => {
    bytes.close()
    Queue.endUnsafe(incoming)
  })
  ws.on("error", () => Queue.endUnsafe(incoming))
  const sendNow = (text: string) => {
    if (ws.readyState !== ws.OPEN) return
    ws.send(text)
    batch.wrote()
  }
  return {
    remoteAddress,
    headers: request.headers,
    incoming,
    send: (text) => Effect.sync(() => sendNow(text)),
    sendNow,
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) =>
      Effect.suspend(() => {
        if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return Effect.void
        // A peer that does not read never completes the closing handshake (ws would wait 30 s, holding
        // the unsent bytes): drop one that is far behind at once, and any other after a short grace.
        if (ws.bufferedAmount > MAX_PREAUTH_PAYLOAD_BYTES) return Effect.sync(() => ws.terminate())
        ws.close(code, reason)
        return Effect.asVoid(Effect.forkDetach(Effect.delay(Effect.sync(() => ws.terminate()), CLOSE_GRACE_MS)))
      }),
    allowLargeFrames: () => {
      // ws has no public per-socket limit; its receiver reads this field on every frame (pinned ws 8.23.0).
      const receiver = (ws as unknown as WsInternals)._receiver
      if (receiver !== undefined) receiver._maxPayload = MAX_PAYLOAD_BYTES
      limit = MAX_QUEUED
      onAuthenticated()
    },
    deliverTo: (handle) => {
      // Frames queued before now go first; from here on none is queued (a closed queue stays closed).
      for (let queued = Queue.takeUnsafe(incoming); queued !== undefined && Exit.isSuccess(queued); queued = Queue.takeUnsafe(incoming)) {
        handle(queued.value)
      }
      direct = handle
      // Nothing is queued any more: settling the count now lets the idle connection drop its list of frame sizes.
      void bytes.bytes
    }
  }
}

const rawLength = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length

const rawToString = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8")
