import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import { writeFileSync } from "node:fs"
import { request } from "node:http"
import { join } from "node:path"
import * as Gateway from "../../src/gateway.ts"
import { txtFor } from "../../src/discovery/records.ts"
import { isLoopbackIp } from "../../src/net/ip.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"

// The regression tests of USERS-AND-SECURITY.md §6, one `describe` per case, named after it.
// Cases that other files already prove in depth are re-asserted here in their shortest form,
// with the file that holds the full test named in a comment. Case 3 (the Control UI's gatewayUrl) needs a
// browser: it is "§6.3: a ?gatewayUrl= …" in test/e2e/controlUi.test.ts (headless Chromium). Parts of 4, 10,
// 11 and 12 (canvas, webhooks, /tools/invoke, session files, client-side pinning from TXT) name surfaces
// gatehouse does not serve.

const attempt = (remoteAddress: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const c = yield* openMemory({ remoteAddress, headers })
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams(params) })
    return { res: yield* c.nextMatching((f) => f.id === "c"), conn: c, challenge }
  })

describe("§6.1 Cross-site WebSocket hijack", () => {
  // Full version: test/net/origin.test.ts (real sockets).
  it.effect("Origin https://evil.example on 127.0.0.1 is closed 1008 before any credential check; no pairing record, nothing counted", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 12; i++) {
        const c = yield* openMemory({ remoteAddress: "127.0.0.1", headers: { origin: "https://evil.example" } })
        const closed = yield* Deferred.await(c.closed)
        assert.strictEqual(closed.code, 1008)
        assert.include(closed.reason, "CONTROL_UI_ORIGIN_NOT_ALLOWED")
      }
      // Nothing was counted: the owner is neither delayed nor locked out (TestClock does not move here).
      const owner = yield* attempt("127.0.0.1", { scopes: ["operator.pairing"] })
      assert.isTrue(owner.res.ok, JSON.stringify(owner.res.error))
      yield* owner.conn.push({ type: "req", id: "l", method: "device.pair.list", params: {} })
      const list = yield* owner.conn.nextMatching((f) => f.id === "l")
      assert.deepStrictEqual(list.payload.pending, [])
    }).pipe(Effect.provide(coreLayer())))
})

describe("§6.2 Loopback brute force and limiter bypasses", () => {
  // Full versions and property tests: test/auth/rateLimit.test.ts.
  it.effect("11+ wrong tokens from 127.0.0.1 are delayed, never locked out, and the owner's token still gets in", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* attempt("127.0.0.1", { auth: { token: "wrong" } })).res.error.details.code, "AUTH_TOKEN_MISMATCH")
      const eleventh = yield* Effect.forkChild(attempt("127.0.0.1", { auth: { token: "wrong" } }))
      yield* TestClock.adjust("500 millis")
      assert.isUndefined(eleventh.pollUnsafe(), "the 11th wrong token must wait")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* Fiber.join(eleventh)).res.error.details.code, "AUTH_TOKEN_MISMATCH")
      const owner = yield* Effect.forkChild(attempt("127.0.0.1", {}))
      yield* TestClock.adjust("30 seconds")
      assert.isTrue((yield* Fiber.join(owner)).res.ok)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("(a) a bogus auth.deviceToken on every attempt does not skip the count", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) yield* attempt("198.51.100.7", { auth: { token: "wrong", deviceToken: `bogus-${i}` } })
      assert.strictEqual((yield* attempt("198.51.100.7", {})).res.error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("(b) alternating 1.2.3.4 and ::ffff:1.2.3.4 is one client", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) yield* attempt(i % 2 === 0 ? "1.2.3.4" : "::ffff:1.2.3.4", { auth: { token: "wrong" } })
      assert.strictEqual((yield* attempt("1.2.3.4", {})).res.error.details.code, "AUTH_RATE_LIMITED")
      assert.strictEqual((yield* attempt("::ffff:1.2.3.4", {})).res.error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("(c) wrong bootstrap tokens and forged device signatures are counted too, each under its own kind", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const guessCode = (i: number) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ remoteAddress: "192.0.2.44" })
          const challenge = yield* c.next
          yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, challenge.payload, { auth: { bootstrapToken: `guess-${i}` } }) })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      const forge = (i: number) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ remoteAddress: "192.0.2.45" })
          const challenge = yield* c.next
          const params = signedConnect(device, challenge.payload)
          yield* c.push({ type: "req", id: "c", method: "connect", params: { ...params, device: { ...params.device, signature: Buffer.alloc(64, i).toString("base64url") } } })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      for (let i = 0; i < 10; i++) assert.isFalse((yield* guessCode(i)).ok)
      assert.strictEqual((yield* guessCode(10)).error.details.code, "AUTH_RATE_LIMITED")
      for (let i = 0; i < 10; i++) assert.isFalse((yield* forge(i)).ok)
      assert.strictEqual((yield* forge(10)).error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(coreLayer())))
})

describe("§6.4 Loopback/proxy trust and shared-IP trust", () => {
  const forged = { "x-forwarded-user": "admin", "x-forwarded-for": "127.0.0.1", "tailscale-user-login": "admin@example.com", "cf-access-jwt-assertion": "junk" }

  it.effect("127.0.0.1 with X-Forwarded-User, X-Forwarded-For, tailscale-user-login and cf-access-jwt-assertion but no credential is refused", () =>
    Effect.gen(function*() {
      const r = yield* attempt("127.0.0.1", { auth: {}, scopes: ["operator.admin"] }, forged)
      assert.isFalse(r.res.ok)
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { auth: { mode: "token", allowTailscale: true } } })))))

  it.live("the same headers on the HTTP API (/metrics) get 401, not the loopback exemption", () =>
    Effect.gen(function*() {
      const server = yield* Layer.build(serverLayer()).pipe(Effect.map(Context.get(GatewayServer)))
      const status = yield* Effect.promise(() => fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: forged }).then((r) => r.status))
      assert.strictEqual(status, 401)
    }).pipe(Effect.scoped))

  it.effect("an authenticated WebSocket from an address does not authorize another unauthenticated one from it", () =>
    Effect.gen(function*() {
      const first = yield* attempt("203.0.113.60", {})
      assert.isTrue(first.res.ok)
      const second = yield* attempt("203.0.113.60", { auth: {} })
      assert.isFalse(second.res.ok)
    }).pipe(Effect.provide(coreLayer())))
})

describe("§6.5 Startup fail-closed matrix", () => {
  // Every row: test/programs/startMatrix.test.ts.
  const start = (doc: unknown) =>
    Layer.build(Gateway.layerDefault().pipe(Layer.provideMerge(Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0 }, homeWithConfig(doc)))))).pipe(
      Effect.scoped,
      Effect.flip
    )
  it.live("bind lan or tailscale serve with auth none, and hooks.token equal to the secret, refuse to start with the fix", () =>
    Effect.gen(function*() {
      assert.include((yield* start({ gateway: { bind: "lan", auth: { mode: "none" } } })).message, "--bind loopback")
      assert.include((yield* start({ gateway: { auth: { mode: "none" }, tailscale: { mode: "serve" } } })).message, "gatehouse config set")
      assert.include((yield* start({ gateway: { auth: { mode: "token", token: "t-0123456789abcdef" } }, hooks: { token: "t-0123456789abcdef" } })).message, "hooks.token")
    }))
})

describe("§6.6 Self-declared scopes", () => {
  it.effect("connect with scopes [operator.admin] and a shared secret but no device, from afar: config.get refused with missing scope", () =>
    Effect.gen(function*() {
      const r = yield* attempt("203.0.113.61", { scopes: ["operator.admin"] })
      assert.isTrue(r.res.ok)
      assert.deepStrictEqual(r.res.payload.auth.scopes, [])
      yield* r.conn.push({ type: "req", id: "g", method: "config.get", params: {} })
      const got = yield* r.conn.nextMatching((f) => f.id === "g")
      assert.isFalse(got.ok)
      assert.match(got.error.message, /missing scope|scope/)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("an RPC before connect is refused and the socket closed", () =>
    Effect.gen(function*() {
      const c = yield* openMemory({ remoteAddress: "127.0.0.1" })
      yield* c.next
      yield* c.push({ type: "req", id: "early", method: "config.get", params: {} })
      const closed = yield* Deferred.await(c.closed)
      assert.notStrictEqual(closed.code, 1000)
    }).pipe(Effect.provide(coreLayer())))
})

// A local operator connection (direct loopback, shared token) with these scopes, and a caller for its RPCs.
const localOperator = (scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { res, conn } = yield* attempt("127.0.0.1", { scopes })
    assert.isTrue(res.ok, JSON.stringify(res.error))
    let n = 0
    return (method: string, params: unknown = {}) =>
      Effect.gen(function*() {
        const id = `call-${n++}`
        yield* conn.push({ type: "req", id, method, params })
        return yield* conn.nextMatching((f) => f.id === id)
      })
  })

describe("§6.7 Token-rotation escalation", () => {
  // Full version over real sockets: test/pairing/flows.test.ts; the policy as a property: test/pairing/policy.test.ts.
  it.effect("a caller holding only operator.pairing cannot rotate an admin-approved device's token to operator.admin", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const c = yield* openMemory({ remoteAddress: "127.0.0.1" })
      const challenge = yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, challenge.payload, { auth: { token: TEST_TOKEN }, scopes: ["operator.admin"] }) })
      assert.isTrue((yield* c.nextMatching((f) => f.id === "c")).ok)
      const pairer = yield* localOperator(["operator.pairing", "operator.read"])
      const escalate = yield* pairer("device.token.rotate", { deviceId: device.deviceId, role: "operator", scopes: ["operator.admin"] })
      assert.isFalse(escalate.ok)
      assert.include(escalate.error.message, "device token rotation denied")
      const admin = yield* localOperator(["operator.admin"])
      const ok = yield* admin("device.token.rotate", { deviceId: device.deviceId, role: "operator" })
      assert.isTrue(ok.ok, JSON.stringify(ok.error))
      assert.isUndefined(ok.payload.token, "the bearer is echoed only to the device itself")
    }).pipe(Effect.provide(coreLayer())))
})

describe("§6.9 Setup codes", () => {
  // Store-level races (file, memory, PostgreSQL, two gateways): test/pairing/storeContract.ts.
  it.effect("the setup payload holds no long-lived secret, and of 20 concurrent redemptions exactly one pairs", () =>
    Effect.gen(function*() {
      const admin = yield* localOperator(["operator.admin"])
      const created = yield* admin("device.bootstrap.create", { role: "node" })
      assert.isTrue(created.ok, JSON.stringify(created.error))
      assert.notInclude(JSON.stringify(created.payload), TEST_TOKEN)
      const bootstrapToken = created.payload.bootstrapToken as string
      const results = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) =>
          Effect.gen(function*() {
            const c = yield* openMemory({ remoteAddress: `198.18.0.${i + 1}` })
            const challenge = yield* c.next
            yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(newDevice(), challenge.payload, { role: "node", auth: { bootstrapToken } }) })
            return yield* c.nextMatching((f) => f.id === "c")
          })),
        { concurrency: "unbounded" }
      )
      assert.lengthOf(results.filter((r) => r.ok), 1)
    }).pipe(Effect.provide(coreLayer())))
})

describe("§6.8 Revocation and credential freshness", () => {
  // Device revocation closing live sockets: test/pairing/flows.test.ts and test/gateway/*.
  const env = homeWithConfig({ gateway: { auth: { mode: "token", token: "first-secret-0123456789" } } })
  it.effect("rotating gateway.auth.token in the config refuses the old token on new connections without a restart", () =>
    Effect.gen(function*() {
      const ok = yield* attempt("127.0.0.1", { auth: { token: "first-secret-0123456789" } })
      assert.isTrue(ok.res.ok, JSON.stringify(ok.res.error))
      yield* Effect.sync(() =>
        writeFileSync(join(env.OPENCLAW_STATE_DIR, "openclaw.json"), JSON.stringify({ gateway: { auth: { mode: "token", token: "second-secret-0123456789" } } }))
      )
      const old = yield* attempt("127.0.0.1", { auth: { token: "first-secret-0123456789" } })
      assert.strictEqual(old.res.error?.details.code, "AUTH_TOKEN_MISMATCH")
      const fresh = yield* attempt("127.0.0.1", { auth: { token: "second-secret-0123456789" } })
      assert.isTrue(fresh.res.ok, JSON.stringify(fresh.res.error))
    }).pipe(Effect.provide(coreLayer({ token: undefined }, env))))
})

describe("§6.10 Discovery spoofing and leakage", () => {
  // The endpoint from SRV + A, never from TXT: test/discovery/records.test.ts; a failing responder: test/e2e/mdns.test.ts.
  it("TXT in the default (minimal) mode carries no cliPath and no sshPort, and never a secret or a path", () => {
    const txt = Object.fromEntries(txtFor({ mode: "minimal", displayName: "box", lanHost: "box.local", gatewayPort: 18789, sshPort: 2222, cliPath: "/usr/bin/gatehouse" }))
    assert.notProperty(txt, "cliPath")
    assert.notProperty(txt, "sshPort")
    assert.notMatch(JSON.stringify(txt), /\/usr|token|password/i)
  })
})

describe("§6.11 Explicit URL overrides and SSRF", () => {
  it("loopback is decided by parsing, never by prefix: 127.evil.com and 127.0.0.1.evil are not loopback", () => {
    assert.isFalse(isLoopbackIp("127.evil.com"))
    assert.isFalse(isLoopbackIp("127.0.0.1.evil.com"))
    assert.isFalse(isLoopbackIp("localhost.evil.com"))
    assert.isTrue(isLoopbackIp("::ffff:127.0.0.1"))
  })
})

describe("§6.12 Path canonicalization", () => {
  it.live("encoded separators and dot segments never reach a route: /api/channels%252f..%252fx, %2f and %5c variants are 404, not served", () =>
    Effect.gen(function*() {
      const server = yield* Layer.build(serverLayer()).pipe(Effect.map(Context.get(GatewayServer)))
      for (const path of ["/api/channels%252f..%252fx", "/healthz%2f..%2fmetrics", "/%2e%2e/metrics", "/x%5c..%5cmetrics", "/metrics%2f"]) {
        // node:http sends the path as written (fetch would normalise the dot segments first).
        const res = yield* Effect.promise(() =>
          new Promise<{ status: number; body: string }>((done, fail) => {
            const req = request({ host: "127.0.0.1", port: server.port, path, headers: { host: `127.0.0.1:${server.port}` } }, (r) => {
              let body = ""
              r.on("data", (d) => (body += d))
              r.on("end", () => done({ status: r.statusCode ?? 0, body }))
            })
            req.on("error", fail)
            req.end()
          })
        )
        assert.strictEqual(res.status, 404, path)
        assert.notInclude(res.body, "gatehouse_", path)
      }
    }).pipe(Effect.scoped))
})
