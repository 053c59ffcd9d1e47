import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import { Agent, AgentError, AgentUnavailable, type IncomingMessage } from "../../src/services/Agent.ts"
import { MAX_RUNS_PER_CALLER } from "../../src/services/ChatRuns.ts"
import * as ChatHistoryMemory from "../../src/layers/ChatHistoryMemory.ts"
import { connectParams, coreLayer, openMemory, testEnv } from "../helpers/testGateway.ts"

// An agent that echoes, or holds every reply until `release` is completed (for abort and wait).
const echoAgent = (seen: Array<IncomingMessage>, hold?: Deferred.Deferred<void>) =>
  Layer.succeed(Agent, Agent.of({
    reply: (m) =>
      m.text === "fail"
        ? Effect.fail(new AgentError({ reason: new AgentUnavailable({ message: "the model endpoint is down" }) }))
        : Effect.andThen(Effect.sync(() => void seen.push(m)), Effect.as(hold === undefined ? Effect.void : Deferred.await(hold), `echo: ${m.text}`))
  }))

const layerWith = (seen: Array<IncomingMessage>, hold?: Deferred.Deferred<void>) =>
  coreLayer({}, testEnv(), { agent: echoAgent(seen, hold), chatHistory: ChatHistoryMemory.layer })

let ids = 0
const operator = (scopes: ReadonlyArray<string> = ["operator.write"]) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ scopes }) })
    const hello = yield* c.next
    assert.strictEqual(hello.ok, true)
    const call = (method: string, params: unknown) =>
      Effect.gen(function*() {
        const id = `r${++ids}`
        yield* c.push({ type: "req", id, method, params })
        return yield* c.nextMatching((f) => f.type === "res" && f.id === id)
      })
    return { ...c, call }
  })

const chatEvent = (state: string) => (f: Record<string, any>) => f.type === "event" && f.event === "chat" && f.payload.state === state

describe("chat.send and chat.history", () => {
  it.effect("starts a run named by the idempotency key, streams the reply as a chat event, and keeps both sides", () => {
    const seen: Array<IncomingMessage> = []
    return Effect.gen(function*() {
      const op = yield* operator()
      const res = yield* op.call("chat.send", { sessionKey: "main", message: "hello", idempotencyKey: "k-1" })
      assert.deepStrictEqual(res.payload, { runId: "k-1", status: "started" })
      const final = yield* op.nextMatching(chatEvent("final"))
      assert.strictEqual(final.payload.runId, "k-1")
      assert.strictEqual(final.payload.sessionKey, "main")
      assert.strictEqual(typeof final.payload.seq, "number")
      assert.deepStrictEqual(final.payload.message.content, [{ type: "text", text: "echo: hello" }])
      assert.strictEqual(final.payload.message.role, "assistant")
      assert.deepStrictEqual(seen.map((m) => [m.channel, m.text, m.sessionKey]), [["webchat", "hello", "main"]])
      const history = yield* op.call("chat.history", { sessionKey: "main" })
      assert.deepStrictEqual(history.payload.messages.map((m: any) => [m.role, m.content[0].text]), [["user", "hello"], ["assistant", "echo: hello"]])
      const limited = yield* op.call("chat.history", { sessionKey: "main", limit: 1 })
      assert.deepStrictEqual(limited.payload.messages.map((m: any) => m.role), ["assistant"])
      const other = yield* op.call("chat.history", { sessionKey: "elsewhere" })
      assert.deepStrictEqual(other.payload.messages, [])
    }).pipe(Effect.provide(layerWith(seen)))
  })

  it.effect("answers a repeated idempotency key with the same run, once; another caller's equal key is its own run", () => {
    const seen: Array<IncomingMessage> = []
    return Effect.gen(function*() {
      const op = yield* operator()
      const first = yield* op.call("chat.send", { sessionKey: "main", message: "once", idempotencyKey: "same" })
      yield* op.nextMatching(chatEvent("final"))
      const again = yield* op.call("chat.send", { sessionKey: "main", message: "once", idempotencyKey: "same" })
      assert.strictEqual(again.payload.runId, first.payload.runId)
      assert.strictEqual(again.payload.status, "ok")
      assert.strictEqual(seen.length, 1)
      const other = yield* operator()
      const theirs = yield* other.call("chat.send", { sessionKey: "main", message: "mine", idempotencyKey: "same" })
      assert.strictEqual(theirs.payload.status, "started")
      assert.notStrictEqual(theirs.payload.runId, first.payload.runId)
      yield* other.nextMatching(chatEvent("final"))
      assert.strictEqual(seen.length, 2)
    }).pipe(Effect.provide(layerWith(seen)))
  })

  it.effect("lets a read-only operator read history but not send", () =>
    Effect.gen(function*() {
      const op = yield* operator(["operator.read"])
      const sent = yield* op.call("chat.send", { sessionKey: "main", message: "hi", idempotencyKey: "k" })
      assert.strictEqual(sent.ok, false)
      assert.strictEqual(sent.error.code, "FORBIDDEN")
      const history = yield* op.call("chat.history", { sessionKey: "main" })
      assert.strictEqual(history.ok, true)
    }).pipe(Effect.provide(layerWith([]))))

  it.effect("refuses a message over the size cap and an empty session key, and starts nothing", () => {
    const seen: Array<IncomingMessage> = []
    return Effect.gen(function*() {
      const op = yield* operator()
      const big = yield* op.call("chat.send", { sessionKey: "main", message: "x".repeat(32 * 1024 + 1), idempotencyKey: "big" })
      assert.strictEqual(big.ok, false)
      assert.strictEqual(big.error.code, "INVALID_REQUEST")
      const noKey = yield* op.call("chat.send", { sessionKey: "", message: "hi", idempotencyKey: "k" })
      assert.strictEqual(noKey.error.code, "INVALID_REQUEST")
      assert.strictEqual(seen.length, 0)
    }).pipe(Effect.provide(layerWith(seen)))
  })
})

describe("agent (two-phase)", () => {
  it.effect("answers accepted, then the final answer under the same request id, with agent events between", () =>
    Effect.gen(function*() {
      const op = yield* operator()
      yield* op.push({ type: "req", id: "a1", method: "agent", params: { message: "/status", idempotencyKey: "run-1", sessionKey: "agent:main:main", model: "ignored" } })
      const accepted = yield* op.nextMatching((f) => f.type === "res" && f.id === "a1")
      assert.strictEqual(accepted.ok, true)
      assert.strictEqual(accepted.payload.status, "accepted")
      assert.strictEqual(accepted.payload.runId, "run-1")
      assert.strictEqual(accepted.payload.sessionKey, "agent:main:main")
      const start = yield* op.nextMatching((f) => f.type === "event" && f.event === "agent" && f.payload.data.phase === "start")
      assert.strictEqual(start.payload.stream, "lifecycle")
      const final = yield* op.nextMatching((f) => f.type === "res" && f.id === "a1")
      assert.strictEqual(final.ok, true)
      assert.strictEqual(final.payload.status, "ok")
      assert.deepStrictEqual(final.payload.result.payloads, [{ text: "echo: /status" }])
      // Exactly two answers: the next res on the wire belongs to the next request.
      yield* op.push({ type: "req", id: "h1", method: "health" })
      assert.strictEqual((yield* op.nextMatching((f) => f.type === "res")).id, "h1")
      const waited = yield* op.call("agent.wait", { runId: "run-1", timeoutMs: 1000 })
      assert.strictEqual(waited.payload.status, "ok")
      assert.strictEqual(waited.payload.runId, "run-1")
    }).pipe(Effect.provide(layerWith([]))))

  it.effect("an agent failure is a final answer with status error and its reason, and an error chat event", () =>
    Effect.gen(function*() {
      const op = yield* operator()
      yield* op.push({ type: "req", id: "af", method: "agent", params: { message: "fail", idempotencyKey: "run-f" } })
      yield* op.nextMatching((f) => f.type === "res" && f.id === "af")
      const final = yield* op.nextMatching((f) => f.type === "res" && f.id === "af")
      assert.deepInclude(final.payload, { status: "error", summary: "the model endpoint is down" })
      const event = yield* op.nextMatching(chatEvent("error"))
      assert.strictEqual(event.payload.errorMessage, "the model endpoint is down")
    }).pipe(Effect.provide(layerWith([]))))

  it.effect("uses the main session when none is named", () =>
    Effect.gen(function*() {
      const op = yield* operator()
      yield* op.push({ type: "req", id: "a2", method: "agent", params: { message: "hi", idempotencyKey: "run-2" } })
      const accepted = yield* op.nextMatching((f) => f.type === "res" && f.id === "a2")
      assert.strictEqual(accepted.payload.sessionKey, "main")
    }).pipe(Effect.provide(layerWith([]))))

  it.effect("is refused for a read-only operator with one error answer", () =>
    Effect.gen(function*() {
      const op = yield* operator(["operator.read"])
      const res = yield* op.call("agent", { message: "hi", idempotencyKey: "x" })
      assert.strictEqual(res.ok, false)
      assert.strictEqual(res.error.code, "FORBIDDEN")
    }).pipe(Effect.provide(layerWith([]))))
})

describe("abort, wait and caps", () => {
  it.effect("chat.abort interrupts the run: an aborted chat event, agent.wait reports the end, the final agent answer says aborted", () =>
    Effect.gen(function*() {
      const hold = yield* Deferred.make<void>()
      return yield* Effect.gen(function*() {
        const op = yield* operator()
        yield* op.push({ type: "req", id: "a3", method: "agent", params: { message: "slow", idempotencyKey: "slow-1", sessionKey: "s" } })
        yield* op.nextMatching((f) => f.type === "res" && f.id === "a3")
        const none = yield* op.call("chat.abort", { sessionKey: "other" })
        assert.deepStrictEqual(none.payload, { ok: true, aborted: false, runIds: [] })
        const aborted = yield* op.call("chat.abort", { sessionKey: "s" })
        assert.deepStrictEqual(aborted.payload, { ok: true, aborted: true, runIds: ["slow-1"] })
        const event = yield* op.nextMatching(chatEvent("aborted"))
        assert.strictEqual(event.payload.runId, "slow-1")
        const final = yield* op.nextMatching((f) => f.type === "res" && f.id === "a3")
        assert.strictEqual(final.payload.status, "aborted")
        const waited = yield* op.call("agent.wait", { runId: "slow-1" })
        assert.strictEqual(waited.payload.status, "error")
        assert.strictEqual(waited.payload.error, "aborted")
      }).pipe(Effect.provide(layerWith([], hold)))
    }))

  it.effect("another caller cannot abort my run", () =>
    Effect.gen(function*() {
      const hold = yield* Deferred.make<void>()
      return yield* Effect.gen(function*() {
        const me = yield* operator()
        yield* me.call("chat.send", { sessionKey: "s", message: "slow", idempotencyKey: "mine" })
        const them = yield* operator()
        const res = yield* them.call("chat.abort", { sessionKey: "s", runId: "mine" })
        assert.deepStrictEqual(res.payload.runIds, [])
        const admin = yield* operator(["operator.admin"])
        const byAdmin = yield* admin.call("chat.abort", { sessionKey: "s", runId: "mine" })
        assert.deepStrictEqual(byAdmin.payload.runIds, ["mine"])
      }).pipe(Effect.provide(layerWith([], hold)))
    }))

  it.effect("agent.wait times out on the test clock, then sees the run end; an unknown run is an error", () =>
    Effect.gen(function*() {
      const hold = yield* Deferred.make<void>()
      return yield* Effect.gen(function*() {
        const op = yield* operator()
        yield* op.call("chat.send", { sessionKey: "s", message: "slow", idempotencyKey: "w-1" })
        const waiting = yield* Effect.forkChild(op.call("agent.wait", { runId: "w-1", timeoutMs: 5000 }))
        yield* TestClock.adjust("4999 millis")
        assert.isUndefined(waiting.pollUnsafe())
        yield* TestClock.adjust("1 millis")
        const timedOut = yield* Fiber.join(waiting)
        assert.deepStrictEqual(timedOut.payload, { runId: "w-1", status: "timeout" })
        yield* Deferred.succeed(hold, undefined)
        const ended = yield* op.call("agent.wait", { runId: "w-1", timeoutMs: 5000 })
        assert.strictEqual(ended.payload.status, "ok")
        const unknown = yield* op.call("agent.wait", { runId: "never" })
        assert.strictEqual(unknown.ok, false)
        assert.strictEqual(unknown.error.details.code, "RUN_UNKNOWN")
      }).pipe(Effect.provide(layerWith([], hold)))
    }))

  it.effect("a run past its timeout (test clock) ends with an error event and agent.wait says why", () =>
    Effect.gen(function*() {
      const hold = yield* Deferred.make<void>()
      return yield* Effect.gen(function*() {
        const op = yield* operator()
        yield* op.call("chat.send", { sessionKey: "s", message: "slow", idempotencyKey: "t-1", timeoutMs: 2000 })
        yield* TestClock.adjust("1999 millis")
        assert.deepStrictEqual((yield* op.call("agent.wait", { runId: "t-1", timeoutMs: 0 })).payload, { runId: "t-1", status: "timeout" })
        yield* TestClock.adjust("1 millis")
        const error = yield* op.nextMatching(chatEvent("error"))
        assert.strictEqual(error.payload.errorMessage, "the agent did not answer within 2 s")
        const waited = yield* op.call("agent.wait", { runId: "t-1" })
        assert.deepInclude(waited.payload, { status: "error", error: "the agent did not answer within 2 s" })
      }).pipe(Effect.provide(layerWith([], hold)))
    }))

  it.effect("refuses a caller's run over the per-caller cap and starts it once one has ended", () =>
    Effect.gen(function*() {
      const hold = yield* Deferred.make<void>()
      const seen: Array<IncomingMessage> = []
      return yield* Effect.gen(function*() {
        const op = yield* operator()
        for (let i = 0; i < MAX_RUNS_PER_CALLER; i++) {
          const r = yield* op.call("chat.send", { sessionKey: "s", message: `m${i}`, idempotencyKey: `cap-${i}` })
          assert.strictEqual(r.payload.status, "started")
        }
        const over = yield* op.call("chat.send", { sessionKey: "s", message: "over", idempotencyKey: "cap-over" })
        assert.strictEqual(over.ok, false)
        assert.strictEqual(over.error.details.code, "RUNS_BUSY")
        const other = yield* operator()
        const theirs = yield* other.call("chat.send", { sessionKey: "s", message: "theirs", idempotencyKey: "t" })
        assert.strictEqual(theirs.payload.status, "started")
        yield* op.call("chat.abort", { sessionKey: "s", runId: "cap-0" })
        const now = yield* op.call("chat.send", { sessionKey: "s", message: "over", idempotencyKey: "cap-over" })
        assert.strictEqual(now.payload.status, "started")
      }).pipe(Effect.provide(layerWith(seen, hold)))
    }))
})
