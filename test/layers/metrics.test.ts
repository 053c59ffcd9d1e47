import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RateLimiter } from "../../src/services/RateLimiter.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { connectParams, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const httpUrl = (wsUrl: string) => wsUrl.replace(/^ws/, "http") + "/metrics"

const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const res = await fetch(url, { headers })
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() }
  })

interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** A strict reader of the Prometheus text format (0.0.4): fails on any line it does not understand. */
const parsePrometheus = (text: string) => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  assert.isTrue(text.endsWith("\n"), "exposition ends with a newline")
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      assert.match(line, /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/)
      continue
    }
    if (line.startsWith("# TYPE ")) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
      assert.isNotNull(m, `TYPE line: ${line}`)
      types.set(m![1]!, m![2]!)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$/.exec(line)
    assert.isNotNull(m, `sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m![2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    const value = m![3] === "+Inf" ? Infinity : Number(m![3])
    assert.isFalse(Number.isNaN(value) && m![3] !== "NaN", `value of ${line}`)
    samples.push({ name: m![1]!, labels, value })
  }
  return { samples, types }
}

const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)

const handshakeAndHealth = (url: string) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* openWs(url)
    yield* c.nextMatching((f) => f.event === "connect.challenge")
    yield* c.send({ type: "req", id: "c1", method: "connect", params: connectParams() })
    const hello = yield* c.nextMatching((f) => f.id === "c1")
    assert.isTrue(hello.ok)
    yield* c.send({ type: "req", id: "h1", method: "health", params: {} })
    const health = yield* c.nextMatching((f) => f.id === "h1")
    assert.isTrue(health.ok)
  }))

layer(serverLayer())("GET /metrics on the gateway port", (it) => {
  it.effect("serves the Prometheus text format to loopback without a token", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      yield* handshakeAndHealth(url)
      const res = yield* get(httpUrl(url))
      assert.strictEqual(res.status, 200)
      assert.match(res.type, /^text\/plain; version=0\.0\.4/)
      const { samples, types } = parsePrometheus(res.body)
      assert.strictEqual(types.get("gatehouse_connections"), "gauge")
      assert.strictEqual(types.get("gatehouse_handshakes_total"), "counter")
      assert.strictEqual(types.get("gatehouse_rpc_requests_total"), "counter")
      assert.strictEqual(types.get("gatehouse_rate_limit_decisions_total"), "counter")
      assert.isAtLeast(valueOf(samples, "gatehouse_handshakes_total", { outcome: "ok" }), 1)
    }))

  it.effect("counts handshakes, RPCs by method and outcome, and rate-limit decisions as they happen", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const before = parsePrometheus((yield* get(httpUrl(url))).body).samples
      yield* handshakeAndHealth(url)
      const after = parsePrometheus((yield* get(httpUrl(url))).body).samples
      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels)
      assert.strictEqual(delta("gatehouse_handshakes_total", { outcome: "ok" }), 1)
      assert.strictEqual(delta("gatehouse_rpc_requests_total", { method: "health", outcome: "ok" }), 1)
      assert.strictEqual(delta("gatehouse_rate_limit_decisions_total", { decision: "allow" }), 1)
    }))

  it.effect("counts a refused handshake under its outcome", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const before = parsePrometheus((yield* get(httpUrl(url))).body).samples
      const c = yield* openWs(url)
      yield* c.nextMatching((f) => f.event === "connect.challenge")
      yield* c.send({ type: "req", id: "c1", method: "connect", params: connectParams({ auth: { token: "wrong-token-wrong-token" } }) })
      const res = yield* c.nextMatching((f) => f.id === "c1")
      assert.isFalse(res.ok)
      yield* c.closed
      const after = parsePrometheus((yield* get(httpUrl(url))).body).samples
      assert.strictEqual(
        valueOf(after, "gatehouse_handshakes_total", { outcome: "refused" }) - valueOf(before, "gatehouse_handshakes_total", { outcome: "refused" }),
        1
      )
    })))

  it.effect("counts requests refused before the RPC server by reason: unknown method, invalid frame, repeated connect", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const before = parsePrometheus((yield* get(httpUrl(url))).body).samples
      const c = yield* openWs(url)
      yield* c.nextMatching((f) => f.event === "connect.challenge")
      yield* c.send({ type: "req", id: "c1", method: "connect", params: connectParams() })
      assert.isTrue((yield* c.nextMatching((f) => f.id === "c1")).ok)
      yield* c.send({ type: "req", id: "u1", method: "no.such.method", params: {} })
      assert.strictEqual((yield* c.nextMatching((f) => f.id === "u1")).error.code, "INVALID_REQUEST")
      yield* c.send({ type: "req", id: "u2", method: "another.unknown", params: {} })
      yield* c.nextMatching((f) => f.id === "u2")
      yield* c.send({ type: "req", id: 42 })
      yield* c.nextMatching((f) => f.type === "res" && f.ok === false && /invalid request frame/.test(f.error.message))
      yield* c.send({ type: "req", id: "c2", method: "connect", params: connectParams() })
      yield* c.nextMatching((f) => f.id === "c2")
      const after = parsePrometheus((yield* get(httpUrl(url))).body)
      assert.strictEqual(after.types.get("gatehouse_rpc_refused_total"), "counter")
      const delta = (reason: string) =>
        valueOf(after.samples, "gatehouse_rpc_refused_total", { reason }) - valueOf(before, "gatehouse_rpc_refused_total", { reason })
      assert.strictEqual(delta("unknown_method"), 2)
      assert.strictEqual(delta("invalid_frame"), 1)
      assert.strictEqual(delta("connect_again"), 1)
      // The method a client names is not a label: the series stay bounded whatever clients send.
      assert.isFalse(after.samples.some((s) => Object.values(s.labels).includes("no.such.method")))
    })))

  it.effect("asks a client that is not direct loopback for the gateway token as a Bearer", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      // A forwarded request is not direct loopback, whatever its socket says.
      const proxied = { "x-forwarded-for": "203.0.113.7" }
      const none = yield* get(httpUrl(url), proxied)
      assert.strictEqual(none.status, 401)
      assert.notInclude(none.body, "gatehouse_")
      const wrong = yield* get(httpUrl(url), { ...proxied, authorization: "Bearer not-the-token" })
      assert.strictEqual(wrong.status, 401)
      const right = yield* get(httpUrl(url), { ...proxied, authorization: `Bearer ${TEST_TOKEN}` })
      assert.strictEqual(right.status, 200)
      assert.include(right.body, "# TYPE gatehouse_handshakes_total counter")
    }))
})

// A limiter that locks any address out after 3 failures (the memory layer never locks out loopback,
// which is all a test can connect from), recording what it was told.
const failed: Array<string> = []
const strictLimiter = Layer.succeed(RateLimiter, RateLimiter.of({
  check: () => Effect.sync(() => failed.length >= 3 ? { _tag: "Refuse" as const, retryAfterMs: 300_000 } : { _tag: "Allow" as const }),
  fail: (_address, reason) => Effect.sync(() => void failed.push(reason)),
  succeed: () => Effect.void
}))

layer(serverLayer({}, undefined, { rateLimiter: strictLimiter }))("GET /metrics Bearer guesses", (it) => {
  it.effect("count against the RateLimiter, so guessing the token there gets locked out like a handshake", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const proxied = { "x-forwarded-for": "203.0.113.7" }
      for (let i = 0; i < 3; i++) {
        const wrong = yield* get(httpUrl(url), { ...proxied, authorization: `Bearer guess-${i}` })
        assert.strictEqual(wrong.status, 401)
      }
      assert.deepStrictEqual(failed, ["metrics-bearer", "metrics-bearer", "metrics-bearer"])
      // Locked out: even the right token is not checked, so a late right guess learns nothing.
      const right = yield* get(httpUrl(url), { ...proxied, authorization: `Bearer ${TEST_TOKEN}` })
      assert.strictEqual(right.status, 429)
      assert.notInclude(right.body, "gatehouse_")
    }))
})
