import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as RpcServer from "effect/rpc/RpcServer"
import { prometheusText } from "../../src/observability/metrics.ts"
import * as RpcFrameProtocol from "../../src/layers/RpcFrameProtocol.ts"
import { FrameRouter, MAX_IN_FLIGHT_PER_CLIENT } from "../../src/services/FrameRouter.ts"

describe("the frame router's table of unanswered requests", () => {
  it.effect("has a cap per connection: past it a request is refused as busy, and an id in flight as a duplicate", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void)
      yield* router.attach(2, () => Effect.void)
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      for (let i = 0; i < MAX_IN_FLIGHT_PER_CLIENT; i++) assert.strictEqual(yield* router.submit(1, req(`r${i}`)), "accepted")
      assert.strictEqual(yield* router.submit(1, req("one-more")), "busy")
      assert.strictEqual(yield* router.submit(1, req("r0")), "duplicate")
      // Another connection has its own share.
      assert.strictEqual(yield* router.submit(2, req("r0")), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("counts the bytes unanswered requests hold: past the budget a request is busy, and an answer gives its bytes back", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void)
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      assert.strictEqual(yield* router.submit(1, req("a"), 600, 1000), "accepted")
      assert.strictEqual(yield* router.submit(1, req("b"), 500, 1000), "busy")
      assert.strictEqual(yield* router.submit(1, req("c"), 400, 1000), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("one client's connections share its byte budget, and a connection that goes gives back what its requests held", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      yield* router.attach(2, () => Effect.void, "203.0.113.9")
      yield* router.attach(3, () => Effect.void, "198.51.100.1")
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      assert.strictEqual(yield* router.submit(1, req("a"), 600, 1000, 1000), "accepted")
      // The same client on another socket: its own connection budget has room, the client's does not.
      assert.strictEqual(yield* router.submit(2, req("a"), 600, 1000, 1000), "busy")
      // Another client is untouched.
      assert.strictEqual(yield* router.submit(3, req("a"), 600, 1000, 1000), "accepted")
      yield* router.detach(1)
      assert.strictEqual(yield* router.submit(2, req("b"), 600, 1000, 1000), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("an address's budget comes back whole when its connections go, and a client number attached again starts afresh", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      const req = (id: string) => ({ type: "req" as const, id, method: "health", params: {} })
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(1, req("a"), 900, 1000, 1000), "accepted")
      // The number attached again: the old connection's requests and bytes go with it.
      yield* router.attach(1, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(1, req("a"), 900, 1000, 1000), "accepted")
      yield* router.detach(1)
      // Every connection of the address has gone: a new one has the whole budget.
      yield* router.attach(2, () => Effect.void, "203.0.113.9")
      assert.strictEqual(yield* router.submit(2, req("b"), 1000, 1000, 1000), "accepted")
      assert.strictEqual(yield* router.submit(2, req("c"), 1, 1000, 1000), "busy")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))
})

describe("the frame router's answers", () => {
  const rpcCount = (text: string, method: string) =>
    Number(text.match(new RegExp(`gatehouse_rpc_requests_total\\{[^}]*method="${method}"[^}]*outcome="ok"[^}]*\\} (\\d+)`))?.[1] ?? 0)

  it.effect("are written by the connection's writer when the send runs, counted once, and what the writer leaves to do runs after", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      const protocol = yield* RpcServer.Protocol
      const written: Array<unknown> = []
      let followUps = 0
      yield* router.attach(1, (frame) => {
        written.push(frame)
        // The second answer asks for more (as a slow consumer's close does).
        return written.length === 2 ? Effect.sync(() => void followUps++) : undefined
      })
      const req = (id: string) => ({ type: "req" as const, id, method: "last-heartbeat", params: {} })
      assert.strictEqual(yield* router.submit(1, req("a")), "accepted")
      assert.strictEqual(yield* router.submit(1, req("b")), "accepted")
      const before = rpcCount(prometheusText(), "last-heartbeat")
      const send = protocol.send(1, { _tag: "Exit", requestId: "a", exit: { _tag: "Success", value: { ts: 1 } } })
      // Building the send writes nothing: the write is the effect's.
      assert.strictEqual(written.length, 0)
      yield* send
      assert.deepStrictEqual(written, [{ type: "res", id: "a", ok: true, payload: { ts: 1 } }])
      assert.strictEqual(rpcCount(prometheusText(), "last-heartbeat"), before + 1)
      yield* protocol.send(1, { _tag: "Exit", requestId: "b", exit: { _tag: "Success", value: null } })
      assert.deepStrictEqual(written[1], { type: "res", id: "b", ok: true, payload: null })
      assert.strictEqual(followUps, 1)
      assert.strictEqual(rpcCount(prometheusText(), "last-heartbeat"), before + 2)
      // An answered id is no longer in flight: it can be used again.
      assert.strictEqual(yield* router.submit(1, req("a")), "accepted")
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))

  it.effect("of a streaming request are written in order, each as a res with the request's id", () =>
    Effect.gen(function*() {
      const router = yield* FrameRouter
      const protocol = yield* RpcServer.Protocol
      const written: Array<unknown> = []
      yield* router.attach(1, (frame) => void written.push(frame))
      assert.strictEqual(yield* router.submit(1, { type: "req", id: "s", method: "agent", params: {} }), "accepted")
      yield* protocol.send(1, { _tag: "Chunk", requestId: "s", values: [{ n: 1 }, { n: 2 }] })
      assert.deepStrictEqual(written, [
        { type: "res", id: "s", ok: true, payload: { n: 1 } },
        { type: "res", id: "s", ok: true, payload: { n: 2 } }
      ])
    }).pipe(Effect.provide(RpcFrameProtocol.layer)))
})
