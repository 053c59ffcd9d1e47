/**
 * Handlers of the WebChat and agent methods: `chat.send` (answers at once; the
 * reply follows as `chat` events), `chat.history`, `chat.abort`, `agent` (a stream
 * of two answers: accepted, then final) and `agent.wait`. Runs belong to the
 * calling device (or connection): its idempotency keys, its runs to abort.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { approve as approveCode, prune } from "../../channels/dmPairing.ts"
import { modifyPairing, pairingPath, readPairing } from "../../channels/dmPairingFile.ts"
import { type Caller, CurrentCaller } from "../../protocol/authorize.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { satisfies } from "../../protocol/scopes.ts"
import { ChatHistory } from "../../services/ChatHistory.ts"
import { AGENT_ID, ChatRuns, DEFAULT_SESSION_KEY, DEFAULT_WAIT_MS, type RunOutcome } from "../../services/ChatRuns.ts"
import { GatewayConfig } from "../../services/GatewayConfig.ts"
import { ErrorCode, GatewayError } from "../../protocol/errors.ts"
import { failOnWire } from "../wireErrors.ts"

/** Channels that pair DM senders. */
const PAIRING_CHANNELS: ReadonlyArray<string> = ["telegram"]

/** Who owns a run: the caller's device, or its connection when it has none. */
export const runOwner = (caller: Caller) => caller.deviceId ?? caller.connId

export const handlers = Effect.gen(function*() {
  const runs = yield* ChatRuns
  const history = yield* ChatHistory
  const { config } = yield* GatewayConfig
  const pairingState = (e: Error) =>
    Effect.andThen(Effect.logError(`DM pairing state: ${e.message}`), Effect.fail(new GatewayError({ code: ErrorCode.unavailable, message: "the DM pairing state cannot be read; the gateway's log says why" })))
  const pairingChannel = (channel: string) =>
    PAIRING_CHANNELS.includes(channel)
      ? Effect.succeed(channel)
      : Effect.fail(new GatewayError({ code: ErrorCode.invalidRequest, message: `channel "${channel.slice(0, 64)}" does not pair senders (only ${PAIRING_CHANNELS.join(", ")})` }))
  return declaredIn(GatewayRpcs)({
    "channels.pairing.list": (p: { readonly channel?: string }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const channels = p.channel === undefined ? PAIRING_CHANNELS : [yield* pairingChannel(p.channel)]
        const pending = []
        for (const channel of channels) {
          const state = yield* Effect.catch(readPairing(pairingPath(config.paths.stateDir, channel)), pairingState)
          for (const entry of prune(state, now).pending) pending.push({ channel, ...entry })
        }
        return { pending }
      }),
    "channels.pairing.approve": (p: { readonly channel: string; readonly code: string }) =>
      Effect.gen(function*() {
        const channel = yield* pairingChannel(p.channel)
        const now = yield* Clock.currentTimeMillis
        const hit = yield* Effect.catch(modifyPairing(pairingPath(config.paths.stateDir, channel), (s) => approveCode(s, p.code, now)), pairingState)
        if (hit === undefined) {
          return yield* new GatewayError({
            code: ErrorCode.invalidRequest,
            message: `no pending ${channel} pairing code "${p.code.slice(0, 16)}" (codes expire after an hour); see channels.pairing.list`,
            details: { code: "CODE_UNKNOWN" }
          })
        }
        yield* Effect.logInfo(`${channel}: DM pairing approved for user ${hit.userId}`)
        return { ok: true, channel, userId: hit.userId, chatId: hit.chatId }
      }),
    "chat.send": (p: { readonly sessionKey: string; readonly message: string; readonly idempotencyKey: string; readonly timeoutMs?: number }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const ticket = yield* runs.start({ caller: runOwner(caller), sessionKey: p.sessionKey, message: p.message, idempotencyKey: p.idempotencyKey, channel: "webchat", timeoutMs: p.timeoutMs })
        return { runId: ticket.runId, status: ticket.status === "started" || ticket.status === "in_flight" ? ticket.status : "ok" as const }
      }),
    "chat.history": (p: { readonly sessionKey: string; readonly limit?: number }) =>
      Effect.map(history.read(p.sessionKey, p.limit ?? 200), (messages) => ({ sessionKey: p.sessionKey, sessionId: p.sessionKey, messages })),
    "chat.abort": (p: { readonly sessionKey: string; readonly runId?: string }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const runIds = yield* runs.abort({ caller: runOwner(caller), admin: satisfies(caller.scopes, "operator.admin"), sessionKey: p.sessionKey, runId: p.runId })
        return { ok: true, aborted: runIds.length > 0, runIds }
      }),
    "agent.wait": (p: { readonly runId: string; readonly timeoutMs?: number }) =>
      Effect.map(runs.wait(p.runId, p.timeoutMs ?? DEFAULT_WAIT_MS), (outcome) =>
        outcome === undefined ? { runId: p.runId, status: "timeout" as const } : {
          runId: outcome.runId,
          status: outcome.status === "ok" ? "ok" as const : "error" as const,
          startedAt: outcome.startedAt,
          endedAt: outcome.endedAt,
          ...(outcome.status === "ok" ? {} : { error: outcome.error ?? "aborted" })
        })
  })
})

/** `agent`, a streaming method: its answers are `accepted` and then the final one. */
export const streamHandlers = Effect.gen(function*() {
  const runs = yield* ChatRuns
  return {
    "agent": (p: { readonly message: string; readonly idempotencyKey: string; readonly sessionKey?: string; readonly timeout?: number }) =>
      Stream.unwrap(Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const sessionKey = p.sessionKey === undefined || p.sessionKey.trim() === "" ? DEFAULT_SESSION_KEY : p.sessionKey
        const ticket = yield* Effect.catch(
          // OpenClaw's `timeout` is in seconds.
          runs.start({ caller: runOwner(caller), sessionKey, message: p.message, idempotencyKey: p.idempotencyKey, channel: "agent", timeoutMs: p.timeout === undefined ? undefined : p.timeout * 1000 }),
          failOnWire
        )
        const final = Effect.map(Effect.catch(runs.outcome(ticket.runId), failOnWire), finalAnswer)
        const accepted = { runId: ticket.runId, sessionKey: ticket.sessionKey, agentId: AGENT_ID, status: "accepted" as const, acceptedAt: ticket.acceptedAt }
        return ticket.status === "started" || ticket.status === "in_flight"
          ? Stream.concat(Stream.succeed(accepted), Stream.fromEffect(final))
          : Stream.fromEffect(final)
      }))
  }
})

/** The final `agent` answer for a run's outcome, in the shape `openclaw agent` prints. */
export const finalAnswer = (outcome: RunOutcome) => ({
  runId: outcome.runId,
  sessionKey: outcome.sessionKey,
  status: outcome.status,
  summary: outcome.status === "ok" ? "completed" : outcome.status === "aborted" ? "aborted" : outcome.error ?? "the agent failed",
  ...(outcome.status === "ok"
    ? { result: { payloads: [{ text: outcome.text ?? "" }], meta: { durationMs: outcome.endedAt - outcome.startedAt } } }
    : {})
})
