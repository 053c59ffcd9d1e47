/**
 * ChatRuns on the gateway: each run is a fiber in the layer's scope that asks the
 * Agent for a reply, records the exchange in ChatHistory, and broadcasts `chat`
 * and `agent` events to operators who may read. Aborting interrupts the fiber;
 * the run then ends as `aborted` with its events sent. Finished runs and
 * idempotency keys are remembered up to `RUNS_REMEMBERED` (the oldest are
 * forgotten first).
 */
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { textMessage } from "../chat/transcript.ts"
import type { LiveConnection } from "../connections/liveConnection.ts"
import { satisfies } from "../protocol/scopes.ts"
import { Agent } from "../services/Agent.ts"
import { ChatHistory } from "../services/ChatHistory.ts"
import {
  ChatRuns,
  ChatRunsError,
  DEFAULT_RUN_TIMEOUT_MS,
  MAX_RUNS_PER_CALLER,
  MAX_RUNS_TOTAL,
  type RunOutcome,
  type RunRequest,
  RUNS_REMEMBERED,
  RunsBusy,
  type RunTicket,
  RunUnknown
} from "../services/ChatRuns.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"

interface Run {
  readonly runId: string
  readonly caller: string
  readonly sessionKey: string
  readonly acceptedAt: number
  readonly done: Deferred.Deferred<RunOutcome>
  fiber: Fiber.Fiber<void> | undefined
  chatSeq: number
  agentSeq: number
}

export const make = Effect.gen(function*() {
  const agent = yield* Agent
  const history = yield* ChatHistory
  const hub = yield* ConnectionHub
  const fibers = yield* FiberMap.make<string>()
  const active = new Map<string, Run>()
  const finished = new Map<string, RunOutcome>()
  const byKey = new Map<string, string>()

  const fail = (reason: RunsBusy | RunUnknown) => Effect.fail(new ChatRunsError({ reason }))
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key)
    map.set(key, value)
    if (map.size > RUNS_REMEMBERED) map.delete(map.keys().next().value!)
  }
  const toReaders = { filter: (c: LiveConnection) => c.principal.role === "operator" && satisfies(c.principal.scopes, "operator.read") }

  const chatEvent = (run: Run, fields: Record<string, unknown>) =>
    hub.broadcast("chat", { runId: run.runId, sessionKey: run.sessionKey, seq: run.chatSeq++, ...fields }, toReaders)
  const agentEvent = (run: Run, stream: string, data: Record<string, unknown>) =>
    Effect.flatMap(Clock.currentTimeMillis, (ts) =>
      hub.broadcast("agent", { runId: run.runId, seq: run.agentSeq++, stream, ts, data, sessionKey: run.sessionKey }, toReaders))
  // A transcript that cannot be written is logged; the run still answers.
  const record = (sessionKey: string, role: "user" | "assistant", text: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (ts) => history.append(sessionKey, [textMessage(role, text, ts)])).pipe(
      Effect.catch((e) => Effect.logWarning(`chat history for a session could not be written: ${e.reason.message}`))
    )

  // Reports the run's end once, whichever way it ended.
  const finish = (run: Run, outcome: Omit<RunOutcome, "runId" | "sessionKey" | "startedAt" | "endedAt">) =>
    Effect.uninterruptible(Effect.gen(function*() {
      if (yield* Deferred.isDone(run.done)) return
      const endedAt = yield* Clock.currentTimeMillis
      const full: RunOutcome = { runId: run.runId, sessionKey: run.sessionKey, startedAt: run.acceptedAt, endedAt, ...outcome }
      if (full.status === "ok") {
        yield* record(run.sessionKey, "assistant", full.text ?? "")
        yield* agentEvent(run, "assistant", { text: full.text ?? "", delta: full.text ?? "" })
        yield* chatEvent(run, { state: "final", message: textMessage("assistant", full.text ?? "", endedAt) })
        yield* agentEvent(run, "lifecycle", { phase: "end", startedAt: run.acceptedAt, endedAt })
      } else if (full.status === "aborted") {
        yield* chatEvent(run, { state: "aborted", stopReason: "aborted" })
        yield* agentEvent(run, "lifecycle", { phase: "end", aborted: true, startedAt: run.acceptedAt, endedAt })
      } else {
        yield* chatEvent(run, { state: "error", errorMessage: full.error ?? "the agent failed" })
        yield* agentEvent(run, "lifecycle", { phase: "error", error: full.error ?? "the agent failed", startedAt: run.acceptedAt, endedAt })
      }
      active.delete(run.runId)
      remember(finished, run.runId, full)
      yield* Deferred.succeed(run.done, full)
    }))

  const execute = (run: Run, request: RunRequest) =>
    Effect.gen(function*() {
      yield* agentEvent(run, "lifecycle", { phase: "start", startedAt: run.acceptedAt })
      yield* record(run.sessionKey, "user", request.message)
      const limit = Math.min(request.timeoutMs !== undefined && request.timeoutMs > 0 ? request.timeoutMs : DEFAULT_RUN_TIMEOUT_MS, DEFAULT_RUN_TIMEOUT_MS)
      const exit = yield* Effect.exit(Effect.timeoutOption(agent.reply({ channel: request.channel, from: request.caller, text: request.message, sessionKey: run.sessionKey }), limit))
      if (Exit.isFailure(exit) && !exit.cause.reasons.some((r) => r._tag === "Fail")) {
        yield* Effect.logError(`agent run ${run.runId} failed inside the gateway`, exit.cause)
      }
      yield* finish(
        run,
        Exit.isFailure(exit)
          ? { status: "error", error: errorText(exit.cause) }
          : Option.isNone(exit.value)
          ? { status: "error", error: `the agent did not answer within ${Math.round(limit / 1000)} s` }
          : { status: "ok", text: exit.value.value }
      )
    }).pipe(Effect.onInterrupt(() => finish(run, { status: "aborted" })))

  const ticketOf = (runId: string): RunTicket | undefined => {
    const run = active.get(runId)
    if (run !== undefined) return { runId, sessionKey: run.sessionKey, status: "in_flight", acceptedAt: run.acceptedAt }
    const ended = finished.get(runId)
    return ended === undefined ? undefined : { runId, sessionKey: ended.sessionKey, status: ended.status, acceptedAt: ended.startedAt }
  }

  const start = (request: RunRequest) =>
    Effect.gen(function*() {
      const key = `${request.caller}\u0000${request.idempotencyKey}`
      const earlier = byKey.get(key)
      const known = earlier === undefined ? undefined : ticketOf(earlier)
      if (known !== undefined) return known
      if (active.size >= MAX_RUNS_TOTAL) return yield* fail(new RunsBusy({ scope: "gateway", limit: MAX_RUNS_TOTAL }))
      if ([...active.values()].filter((r) => r.caller === request.caller).length >= MAX_RUNS_PER_CALLER) {
        return yield* fail(new RunsBusy({ scope: "caller", limit: MAX_RUNS_PER_CALLER }))
      }
      // OpenClaw clients use the idempotency key as the run id; another caller's key never collides with it.
      const taken = active.has(request.idempotencyKey) || finished.has(request.idempotencyKey)
      const runId = taken ? randomUUID() : request.idempotencyKey
      const run: Run = {
        runId,
        caller: request.caller,
        sessionKey: request.sessionKey,
        acceptedAt: yield* Clock.currentTimeMillis,
        done: yield* Deferred.make<RunOutcome>(),
        fiber: undefined,
        chatSeq: 0,
        agentSeq: 0
      }
      active.set(runId, run)
      remember(byKey, key, runId)
      run.fiber = yield* FiberMap.run(fibers, runId, execute(run, request), { startImmediately: false })
      return { runId, sessionKey: run.sessionKey, status: "started", acceptedAt: run.acceptedAt } satisfies RunTicket
    })

  const doneOf = (runId: string) =>
    Effect.suspend(() => {
      const ended = finished.get(runId)
      if (ended !== undefined) return Effect.succeed(Effect.succeed(ended))
      const run = active.get(runId)
      return run === undefined ? fail(new RunUnknown({ runId })) : Effect.succeed(Deferred.await(run.done))
    })

  return ChatRuns.of({
    start,
    outcome: (runId) => Effect.flatten(doneOf(runId)),
    wait: (runId, timeoutMs) =>
      Effect.flatMap(doneOf(runId), (done) => Effect.map(Effect.timeoutOption(done, timeoutMs), Option.getOrUndefined)),
    abort: ({ admin, caller, runId, sessionKey }) =>
      Effect.gen(function*() {
        const targets = [...active.values()].filter((r) =>
          r.sessionKey === sessionKey && (runId === undefined || r.runId === runId) && (admin || r.caller === caller)
        )
        for (const run of targets) if (run.fiber !== undefined) yield* Fiber.interrupt(run.fiber)
        return targets.map((r) => r.runId)
      })
  })
})

export const layer: Layer.Layer<ChatRuns, never, Agent | ChatHistory | ConnectionHub> = Layer.effect(ChatRuns, make)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const errorText = (cause: Cause.Cause<{ readonly reason: { readonly message: string } }>): string => {
  const failure = cause.reasons.find((r) => r._tag === "Fail")
  return failure !== undefined && failure._tag === "Fail" ? failure.error.reason.message : "the agent failed inside the gateway"
}
