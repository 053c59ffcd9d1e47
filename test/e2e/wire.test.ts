import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import * as Layer from "effect/Layer"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Gateway from "../../src/gateway.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { serverLayer, tempHome, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const FIXTURES = new URL("../fixtures/openclaw-2026.9.6/", import.meta.url)
const recorded = (name: string) =>
  readFileSync(new URL(name, FIXTURES), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { dir: string; frame: string })

const withToken = (frame: Record<string, any>) =>
  frame.method === "connect" ? { ...frame, params: { ...frame.params, auth: { token: TEST_TOKEN } } } : frame

layer(serverLayer())("the recorded OpenClaw CLI conversation", (it) => {
  it.effect("replays frames-cli.jsonl: every request gets a response of the shape the client expects", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      const challenge = yield* c.next
      assert.strictEqual(challenge.event, "connect.challenge")
      const frames = recorded("frames-cli.jsonl").map((r) => ({ dir: r.dir, frame: JSON.parse(r.frame) }))
      const requests = frames.filter((r) => r.dir === "c2s").map((r) => r.frame)
      const answers = new Map(frames.filter((r) => r.frame.type === "res").map((r) => [r.frame.id, r.frame]))
      assert.isAtLeast(requests.length, 5)
      for (const req of requests) {
        const expected = answers.get(req.id)!
        yield* c.send(withToken(req))
        const res = yield* c.nextMatching((f) => f.type === "res" && f.id === req.id)
        assert.strictEqual(res.ok, expected.ok, `${req.method}: ${JSON.stringify(res.error)}`)
        if (res.ok) assert.strictEqual(typeof res.payload, typeof expected.payload, req.method)
        else assert.strictEqual(typeof res.error.message, "string")
        if (req.method === "connect") {
          assert.strictEqual(res.payload.type, "hello-ok")
          assert.strictEqual(res.payload.protocol, 4)
          for (const key of ["server", "features", "snapshot", "policy"]) assert.property(res.payload, key)
          assert.property(res.payload.snapshot, "stateVersion")
          assert.isArray(res.payload.snapshot.presence)
        }
        if (req.method === "health") assert.strictEqual(res.payload.ok, true)
        if (req.method === "last-heartbeat") assert.isNull(res.payload)
      }
    })))

  it.effect("replays the tapped CLI health call, whose health request has no params", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      const requests = recorded("tap-cli-health.jsonl").filter((r) => r.dir === "c2s").map((r) => JSON.parse(r.frame))
      for (const req of requests) {
        yield* c.send(withToken(req))
        const res = yield* c.nextMatching((f) => f.type === "res" && f.id === req.id)
        assert.strictEqual(res.ok, true)
      }
    })))

  it.effect("serves a v3 client", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      yield* c.send({
        type: "req",
        id: "v3",
        method: "connect",
        params: {
          minProtocol: 3,
          maxProtocol: 3,
          client: { id: "openclaw-macos", version: "2026.4.12", platform: "macos", mode: "ui" },
          auth: { token: TEST_TOKEN },
          scopes: ["operator.admin"]
        }
      })
      const hello = yield* c.nextMatching((f) => f.id === "v3")
      assert.strictEqual(hello.payload.protocol, 3)
      yield* c.send({ type: "req", id: "st", method: "status", params: {} })
      const status = yield* c.nextMatching((f) => f.id === "st")
      assert.strictEqual(status.payload.ok, true)
      assert.property(status.payload.gateway, "stateDir")
    })))

  it.effect("closes an oversized pre-auth frame with 1009 and keeps serving others", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const bad = yield* openWs(url)
      const good = yield* openWs(url)
      yield* bad.next
      yield* good.next
      yield* bad.sendText("x".repeat(65 * 1024))
      assert.strictEqual((yield* bad.closed).code, 1009)
      yield* good.send({ type: "req", id: "c", method: "connect", params: connectParamsFor() })
      assert.strictEqual((yield* good.nextMatching((f) => f.id === "c")).ok, true)
    })))

  it.effect("closes a client that floods frames before its handshake is answered", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      yield* Effect.sync(() => {
        c.ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: connectParamsFor() }))
        for (let i = 0; i < 50; i++) c.ws.send(JSON.stringify({ type: "req", id: `f${i}`, method: "health" }))
      })
      assert.deepStrictEqual(yield* c.closed, { code: 1008, reason: "too many unanswered frames" })
    })))

  it.effect("keeps close reasons within 123 bytes even for multi-byte client input", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      yield* c.send({ type: "req", id: "c", method: "connect", params: { ...connectParamsFor(), role: "é".repeat(100) } })
      const refused = (yield* c.nextMatching((f) => f.id === "c")).error.message as string
      assert.include(refused, "invalid role")
      // The client's string is not echoed back whole: the reply stays small whatever it sent.
      assert.isBelow(refused.length, 100)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.isAtMost(Buffer.byteLength(closed.reason), 123)
    })))

  it.effect("accepts frames above 64 KiB once authenticated", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      yield* c.send({ type: "req", id: "c", method: "connect", params: connectParamsFor() })
      yield* c.nextMatching((f) => f.id === "c")
      yield* c.send({ type: "req", id: "big", method: "config.get", params: { path: "x".repeat(200 * 1024) } })
      assert.strictEqual((yield* c.nextMatching((f) => f.id === "big")).ok, true)
    })))

  it.effect("answers a wrong token with AUTH_TOKEN_MISMATCH, closes 1008, and keeps serving", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const c = yield* openWs(url)
      yield* c.next
      yield* c.send({ type: "req", id: "c", method: "connect", params: { ...connectParamsFor(), auth: { token: "wrong" } } })
      const res = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(res.error.details.code, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual((yield* c.closed).code, 1008)
      const d = yield* openWs(url)
      yield* d.next
      yield* d.send({ type: "req", id: "c", method: "connect", params: connectParamsFor() })
      assert.strictEqual((yield* d.nextMatching((f) => f.id === "c")).ok, true)
    })))

  it.effect("serves liveness and readiness over HTTP on the same port", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const base = url.replace("ws://", "http://")
      const live = yield* Effect.promise(() => fetch(`${base}/healthz`).then((r) => r.json()))
      assert.deepStrictEqual(live, { ok: true, status: "live" })
      const ready = yield* Effect.promise(() => fetch(`${base}/readyz`).then((r) => r.status))
      assert.strictEqual(ready, 200)
    }))
})

describe("credentials", () => {
  it.live("are re-read for every connection: a rotated token works at once and the old one stops", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const env = { HOME: home }
      mkdirSync(join(home, ".openclaw"), { recursive: true })
      const configPath = join(home, ".openclaw", "openclaw.json")
      writeFileSync(configPath, JSON.stringify({ gateway: { auth: { token: "first-token-1a2b3c" } } }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* GatewayServer
        const connect = (token: string) =>
          Effect.scoped(Effect.gen(function*() {
            const c = yield* openWs(url)
            yield* c.next
            yield* c.send({ type: "req", id: "c", method: "connect", params: { ...connectParamsFor(), auth: { token } } })
            return (yield* c.nextMatching((f) => f.id === "c")).ok as boolean
          }))
        assert.isTrue(yield* connect("first-token-1a2b3c"))
        writeFileSync(configPath, JSON.stringify({ gateway: { auth: { token: "second-token-4d5e6f" } } }))
        assert.isFalse(yield* connect("first-token-1a2b3c"))
        assert.isTrue(yield* connect("second-token-4d5e6f"))
      }).pipe(Effect.provide(Gateway.layerDefault().pipe(Layer.provideMerge(Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0 }, env)))))))
    }))
})

describe("shutdown", () => {
  it.live("sends shutdown then closes every client with 1012 when the gateway stops", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const closed = yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* GatewayServer
        const c = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const { WebSocket } = await import("ws")
            return new WebSocket(url)
          }),
          () => Effect.void
        )
        const result = new Promise<number>((resolve) => c.once("close", (code) => resolve(code)))
        c.on("message", (data) => {
          const f = JSON.parse(String(data))
          events.push(f.event ?? f.type)
          if (f.event === "connect.challenge") {
            c.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: connectParamsFor() }))
          }
        })
        yield* Effect.promise(() => new Promise<void>((resolve) => c.on("message", (d) => String(d).includes("hello-ok") && resolve())))
        return result
      }).pipe(Effect.provide(serverLayer())))
      assert.strictEqual(yield* Effect.promise(() => closed), 1012)
      assert.deepStrictEqual(events.slice(-1), ["shutdown"])
    }))
})

function connectParamsFor() {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { id: "cli", version: "test", platform: "linux", mode: "cli" },
    auth: { token: TEST_TOKEN },
    role: "operator",
    scopes: ["operator.read"]
  }
}
