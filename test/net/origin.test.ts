/**
 * Browser origins and Host headers (USERS-AND-SECURITY.md A2, A3 and the DNS-rebinding
 * row of §5): the gateway's own origin or a listed one, nothing else, checked before
 * any credential; and on loopback sockets only loopback names or the configured host.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { request } from "node:http"
import { hostAllowed, originAllowed, ownOrigins, servedHosts } from "../../src/net/origin.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const machine = { alsoLoopback: false, machineNames: ["box", "box.local"], interfaceAddresses: ["127.0.0.1", "192.168.1.20", "::1"] }

describe("originAllowed (pure)", () => {
  const own = ownOrigins({ tls: false, port: 18789, hosts: servedHosts("127.0.0.1", machine) })

  it("A3: a page on another loopback port is not the gateway's origin", () => {
    assert.isFalse(originAllowed("http://localhost:8080", own, []))
    assert.isFalse(originAllowed("http://127.0.0.1:5173", own, []))
  })

  it("A3: the gateway's own origin is accepted, URL-normalized", () => {
    assert.isTrue(originAllowed("http://127.0.0.1:18789", own, []))
    assert.isTrue(originAllowed("http://LOCALHOST:18789", own, []))
    assert.isTrue(originAllowed("http://localhost:18789/", own, []))
  })

  it("A3: http://[::1]:port is the gateway's own only when it is bound on ::1", () => {
    assert.isFalse(originAllowed("http://[::1]:18789", own, []))
    const v6 = ownOrigins({ tls: false, port: 18789, hosts: servedHosts("::1", machine) })
    assert.isTrue(originAllowed("http://[::1]:18789", v6, []))
    assert.isTrue(originAllowed("http://[0:0:0:0:0:0:0:1]:18789", v6, []))
  })

  it("the scheme counts: https pages for a TLS gateway, default ports folded", () => {
    const tls = ownOrigins({ tls: true, port: 443, hosts: ["gw.example"] })
    assert.isTrue(originAllowed("https://gw.example", tls, []))
    assert.isTrue(originAllowed("https://gw.example:443", tls, []))
    assert.isFalse(originAllowed("http://gw.example", tls, []))
  })

  it("A2: foreign, null and garbage origins are refused; listed ones accepted exactly", () => {
    for (const o of ["https://evil.example", "null", "file://", "chrome-extension://abc", "not a url", "http://127.0.0.1:18789.evil.example"]) {
      assert.isFalse(originAllowed(o, own, []), o)
    }
    assert.isTrue(originAllowed("https://ui.example", own, ["https://ui.example:443"]))
    assert.isFalse(originAllowed("https://ui.example:8443", own, ["https://ui.example"]))
    assert.isFalse(originAllowed("null", own, ["null"]))
  })

  it("a wildcard bind is reached by the machine's addresses and names", () => {
    const all = ownOrigins({ tls: false, port: 80, hosts: servedHosts("0.0.0.0", machine) })
    assert.isTrue(originAllowed("http://192.168.1.20", all, []))
    assert.isTrue(originAllowed("http://box.local", all, []))
    assert.isFalse(originAllowed("http://192.168.1.21", all, []))
  })
})

describe("hostAllowed (pure, DNS rebinding)", () => {
  it("accepts loopback names and IPs and the configured host, refuses the rest", () => {
    for (const h of ["127.0.0.1:18789", "localhost:18789", "LOCALHOST", "[::1]:18789", "127.9.9.9", "app.localhost:1"]) assert.isTrue(hostAllowed(h, []), h)
    for (const h of ["evil.example:18789", "192.168.1.20", "", "a@127.0.0.1", "127.0.0.1/x", "localhost.evil.example"]) assert.isFalse(hostAllowed(h, []), h)
    assert.isFalse(hostAllowed(undefined, []))
    assert.isTrue(hostAllowed("gw.internal:18789", ["gw.internal"]))
  })
})

// A gateway on a real socket (127.0.0.1), trusting the loopback proxy so a test can speak for a remote address.
const gateway = (doc: Record<string, unknown> = {}) =>
  Effect.map(Layer.build(serverLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], ...doc } }))), (ctx) => Context.get(ctx, GatewayServer).url)

const connectFrame = (token: string) => ({
  type: "req",
  id: "c",
  method: "connect",
  params: { minProtocol: 4, maxProtocol: 4, client: { id: "openclaw-control-ui", version: "t", platform: "web", mode: "ui" }, auth: { token }, scopes: ["operator.read"] }
})

const httpGet = (url: string, headers: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        let body = ""
        res.on("data", (d) => (body += d))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.once("error", reject)
      req.end()
    })
  )

describe("origin and Host checks on a real listener", () => {
  it.live("a page on another loopback port is closed 1008 CONTROL_UI_ORIGIN_NOT_ALLOWED, and its wrong tokens never reach the limiter", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* gateway()
      const port = new URL(url).port
      const victim = { "x-forwarded-for": "203.0.113.77" }
      for (let i = 0; i < 15; i++) {
        const c = yield* openWs(url, { ...victim, origin: "http://localhost:8080" })
        yield* c.send(connectFrame("wrong-token"))
        const closed = yield* c.closed
        assert.strictEqual(closed.code, 1008)
        assert.include(closed.reason, "CONTROL_UI_ORIGIN_NOT_ALLOWED")
      }
      // The real user at that address is not locked out by the refused page.
      const c = yield* openWs(url, { ...victim, origin: `http://127.0.0.1:${port}` })
      yield* c.nextMatching((f) => f.event === "connect.challenge")
      yield* c.send(connectFrame(TEST_TOKEN))
      const res = yield* c.nextMatching((f) => f.id === "c")
      assert.notStrictEqual(res.error?.details?.code, "AUTH_RATE_LIMITED", JSON.stringify(res.error))
    })))

  it.live("the gateway's own origin, a listed origin and no Origin (non-browser clients) are served", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* gateway({ controlUi: { allowedOrigins: ["https://ui.example"] } })
      const port = new URL(url).port
      for (const headers of [{ origin: `http://127.0.0.1:${port}` }, { origin: `http://localhost:${port}` }, { origin: "https://ui.example" }, {}]) {
        const c = yield* openWs(url, headers)
        const challenge = yield* c.nextMatching((f) => f.event === "connect.challenge")
        assert.strictEqual(challenge.event, "connect.challenge", JSON.stringify(headers))
      }
      const v6 = yield* openWs(url, { origin: `http://[::1]:${port}` })
      assert.strictEqual((yield* v6.closed).code, 1008)
      // A3: a direct loopback client whose page is on another loopback port (a dev server, a local app) is refused.
      const devServer = yield* openWs(url, { origin: "http://localhost:8080" })
      assert.strictEqual((yield* devServer.closed).code, 1008)
    })))

  it.live("DNS rebinding: a Host that is not a loopback name or the configured host is refused before the upgrade and on HTTP routes", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* gateway()
      const port = new URL(url).port
      const refused = yield* Effect.flip(openWs(url, { host: `evil.example:${port}` }))
      assert.include(refused.message, "421")
      const probe = yield* httpGet(`http://127.0.0.1:${port}/healthz`, { host: `evil.example:${port}` })
      assert.strictEqual(probe.status, 421)
      assert.strictEqual((yield* httpGet(`http://127.0.0.1:${port}/healthz`, { host: `localhost:${port}` })).status, 200)
      const c = yield* openWs(url, { host: `localhost:${port}` })
      assert.strictEqual((yield* c.nextMatching((f) => f.event === "connect.challenge")).event, "connect.challenge")
    })))

  it.live("a browser request from a foreign origin gets 403 on HTTP routes", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* gateway()
      const port = new URL(url).port
      const res = yield* httpGet(`http://127.0.0.1:${port}/healthz`, { origin: "https://evil.example" })
      assert.strictEqual(res.status, 403)
      assert.include(res.body, "CONTROL_UI_ORIGIN_NOT_ALLOWED")
      assert.strictEqual((yield* httpGet(`http://127.0.0.1:${port}/healthz`, { origin: `http://127.0.0.1:${port}` })).status, 200)
    })))
})
