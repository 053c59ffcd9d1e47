import { assert, describe, it, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { createServer, type Socket } from "node:net"
import { WebSocketServer } from "ws"
import * as TransportDirect from "../../src/layers/TransportDirect.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { callGateway, callRpc, openSession } from "../../src/programs/gatewayClient.ts"
import { Health, Status, SystemPresence } from "../../src/protocol/rpcs/core.ts"
import { method } from "../../src/protocol/rpcs/define.ts"
import { Transport } from "../../src/services/Transport.ts"
import { freePort } from "../helpers/processes.ts"
import { serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"

const token = Redacted.make(TEST_TOKEN)

/** A Transport that remembers every URL it was asked to open and lets the direct one open it. */
const recording = (urls: Array<string>) =>
  Layer.effect(
    Transport,
    Effect.map(Transport, (direct) =>
      Transport.of({
        name: "recording",
        open: (url, options) => Effect.andThen(Effect.sync(() => urls.push(url)), direct.open(url, options))
      }))
  ).pipe(Layer.provide(TransportDirect.layer))

layer(serverLayer())("the client against a real gateway", (it) => {
  it.effect("opens its socket through the Transport in context", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const urls: Array<string> = []
      const { payload } = yield* callGateway({ url, token }, "system-presence").pipe(Effect.provide(recording(urls)))
      assert.deepStrictEqual(urls, [url])
      assert.isArray(payload)
      yield* openSession({ url, token }).pipe(Effect.scoped, Effect.provide(recording(urls)))
      assert.deepStrictEqual(urls, [url, url])
    }))

  it.effect("lets a Transport dial somewhere else than the URL, as an SSH forward does", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const forwarding = Layer.effect(
        Transport,
        Effect.map(Transport, (direct) => Transport.of({ name: "forward", open: (_remote, options) => direct.open(url, options) }))
      ).pipe(Layer.provide(TransportDirect.layer))
      const { payload } = yield* callRpc({ url: "ws://gateway.example:18789", token }, Health, {}).pipe(Effect.provide(forwarding))
      assert.isTrue(payload.ok)
    }))

  it.effect("decodes a typed call's answer with the method's success schema", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const { payload: status } = yield* callRpc({ url, token }, Status, {}).pipe(Effect.provide(TransportDirect.layer))
      assert.isTrue(status.ok)
      assert.strictEqual(status.gateway.authMode, "token")
      assert.isAtLeast(status.stateVersion.presence, 1)
      const presence = yield* Effect.scoped(Effect.gen(function*() {
        const session = yield* openSession({ url, token })
        assert.isTrue((yield* session.call(Health, { probe: true })).ok)
        return yield* session.call(SystemPresence, {})
      })).pipe(Effect.provide(TransportDirect.layer))
      assert.strictEqual(presence[0]?.mode, "gateway")
    }))

  it.effect("fails as `failed`, naming the method, when the answer does not decode", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const Stricter = method("health", {}, Schema.Struct({ version: Schema.String }))
      const error = yield* Effect.flip(callRpc({ url, token }, Stricter, {}).pipe(Effect.provide(TransportDirect.layer)))
      assert.strictEqual(error.kind, "failed")
      assert.include(error.message, "the gateway's answer to health is not what this client understands")
      assert.include(error.message, "version")
      assert.include(error.message, "gatehouse gateway call health")
    }))

  it.effect("refuses a payload its schema refuses before sending it", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const Strict = method("health", { probe: Schema.String.check(Schema.isMaxLength(3)) }, Schema.Json)
      const error = yield* Effect.flip(callRpc({ url, token }, Strict, { probe: "too long" }).pipe(Effect.provide(TransportDirect.layer)))
      assert.strictEqual(error.kind, "failed")
      assert.match(error.message, /^invalid health params: /)
    }))
})

describe("the direct Transport", () => {
  it.live("says a gateway that refuses connections is not running, and how to start it", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const url = `ws://127.0.0.1:${port}`
      const error = yield* Effect.flip(callGateway({ url, token }, "health").pipe(Effect.provide(TransportDirect.layer)))
      assert.strictEqual(error.kind, "unreachable")
      assert.strictEqual(error.message, `cannot reach a gateway at ${url}: connection refused (is it running? start it with \`gatehouse gateway run\`)`)
    }))

  it.effect("gives up on a handshake that never finishes, and drops the half-open socket", () =>
    Effect.gen(function*() {
      const { port, accepted, closed } = yield* silentServer
      const url = `ws://127.0.0.1:${port}`
      const fiber = yield* Effect.forkChild(
        Effect.scoped(Effect.flatMap(Transport, (t) => t.open(url, { timeoutMs: 5_000, maxPayload: 1024 }))).pipe(
          Effect.provide(TransportDirect.layer),
          Effect.flip
        )
      )
      yield* Deferred.await(accepted)
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)

      assert.strictEqual(error.reason._tag, "Timeout")
      assert.include(error.message, `cannot reach a gateway at ${url}: no WebSocket handshake within 5000 ms`)
      yield* Deferred.await(closed)
    }))

  it.live("hands the socket over paused, so a frame sent at once is not lost", () =>
    Effect.gen(function*() {
      const { port } = yield* eagerServer("first")
      const frames = yield* Effect.scoped(Effect.gen(function*() {
        const transport = yield* Transport
        const ws = yield* transport.open(`ws://127.0.0.1:${port}`, { timeoutMs: 5_000, maxPayload: 1024 })
        assert.isTrue(ws.isPaused)
        const received = yield* Deferred.make<string>()
        ws.on("message", (data) => Deferred.doneUnsafe(received, Exit.succeed(String(data))))
        ws.resume()
        return yield* Deferred.await(received)
      })).pipe(Effect.provide(TransportDirect.layer))
      assert.strictEqual(frames, "first")
    }))
})

// A TCP server that accepts connections and never answers the WebSocket upgrade.
const silentServer = Effect.gen(function*() {
  const accepted = yield* Deferred.make<void>()
  const closed = yield* Deferred.make<void>()
  const sockets: Array<Socket> = []
  const server = yield* Effect.acquireRelease(
    Effect.callback<ReturnType<typeof createServer>>((resume) => {
      const s = createServer((socket) => {
        sockets.push(socket)
        socket.resume()
        socket.on("close", () => Deferred.doneUnsafe(closed, Exit.void))
        Deferred.doneUnsafe(accepted, Exit.void)
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) => Effect.sync(() => {
      for (const socket of sockets) socket.destroy()
      s.close()
    })
  )
  return { port: (server.address() as { port: number }).port, accepted, closed }
})

// A WebSocket server that sends `text` the moment a client connects.
const eagerServer = (text: string) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.callback<WebSocketServer>((resume) => {
        const wss: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => resume(Effect.succeed(wss)))
        wss.on("connection", (ws) => ws.send(text))
      }),
      (wss) => Effect.sync(() => {
        for (const client of wss.clients) client.terminate()
        wss.close()
      })
    ),
    (wss) => ({ port: (wss.address() as { port: number }).port })
  )

