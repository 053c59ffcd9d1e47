/**
 * WebChat and agent runs on the wire, in OpenClaw's shapes: `chat.send`,
 * `chat.history`, `chat.abort`, `agent` (two-phase: an `accepted` answer, then the
 * final one under the same request id), `agent.wait`, and the payloads of the
 * `chat` and `agent` events. Fields OpenClaw clients send that gatehouse does not
 * use (thinking, attachments, delivery routing…) are accepted and ignored.
 */
import * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import { MethodAccess, operator } from "../access.ts"
import { GatewayError } from "../errors.ts"
import { method } from "./define.ts"

const opt = Schema.optionalKey
const Key = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256))
const Millis = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** The largest message a run accepts (characters). */
export const MAX_MESSAGE_CHARS = 32 * 1024

/** One text part of a message, as OpenClaw transcripts carry it. */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

/** A transcript message: who said it, its parts, when (ms since the epoch). */
export const ChatMessage = Schema.Struct({
  role: Schema.Literals(["user", "assistant"]),
  content: Schema.Array(TextPart),
  timestamp: Schema.Number
})
export type ChatMessage = typeof ChatMessage.Type

/** `chat.send`: a WebChat message into a session; the reply comes as `chat` events. */
export class ChatSend extends method("chat.send", {
  sessionKey: Key,
  message: Schema.String.check(Schema.isMaxLength(MAX_MESSAGE_CHARS)),
  idempotencyKey: Key,
  timeoutMs: opt(Millis)
}, Schema.Struct({ runId: Schema.String, status: Schema.Literals(["started", "in_flight", "ok"]) }))
  .annotate(MethodAccess, operator("operator.write")) {}

/** `chat.history`: the session's most recent messages, oldest first. */
export class ChatHistory extends method("chat.history", {
  sessionKey: Key,
  limit: opt(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })))
}, Schema.Struct({ sessionKey: Schema.String, sessionId: Schema.String, messages: Schema.Array(ChatMessage) }))
  .annotate(MethodAccess, operator("operator.read")) {}

/** `chat.abort`: stops the session's runs (or the one named). */
export class ChatAbort extends method("chat.abort", {
  sessionKey: Key,
  runId: opt(Key)
}, Schema.Struct({ ok: Schema.Boolean, aborted: Schema.Boolean, runIds: Schema.Array(Schema.String) }))
  .annotate(MethodAccess, operator("operator.write")) {}

/** The first answer to `agent`: the run is admitted. */
export const AgentAccepted = Schema.Struct({
  runId: Schema.String,
  sessionKey: Schema.String,
  agentId: Schema.String,
  status: Schema.Literal("accepted"),
  acceptedAt: Schema.Number
})

/** The final answer to `agent`: how the run ended and what the agent said. */
export const AgentFinal = Schema.Struct({
  runId: Schema.String,
  sessionKey: Schema.String,
  status: Schema.Literals(["ok", "error", "aborted", "in_flight"]),
  summary: Schema.String,
  result: opt(Schema.Struct({
    payloads: Schema.Array(Schema.Struct({ text: Schema.String })),
    meta: Schema.Struct({ durationMs: Schema.Number })
  }))
})

/**
 * `agent`: runs the agent on a message. A streaming method: its first value is
 * the `accepted` answer and its last the final one; the frame adapter writes each
 * as a `res` with the request's id.
 */
export class Agent extends Rpc.make("agent", {
  payload: {
    message: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(MAX_MESSAGE_CHARS)),
    idempotencyKey: Key,
    agentId: opt(Schema.String),
    sessionKey: opt(Schema.String.check(Schema.isMaxLength(256))),
    sessionId: opt(Schema.String),
    /** Seconds, as OpenClaw sends it. */
    timeout: opt(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400 })))
  },
  success: Schema.Union([AgentAccepted, AgentFinal]),
  error: GatewayError,
  stream: true
}).annotate(MethodAccess, operator("operator.write")) {}

/** `agent.wait`: waits up to `timeoutMs` (default 30 s) for a run to end. */
export class AgentWait extends method("agent.wait", {
  runId: Key,
  timeoutMs: opt(Millis)
}, Schema.Struct({
  runId: Schema.String,
  status: Schema.Literals(["ok", "error", "timeout"]),
  startedAt: opt(Schema.Number),
  endedAt: opt(Schema.Number),
  error: opt(Schema.String)
})).annotate(MethodAccess, operator("operator.write")) {}

/** A DM pairing code waiting for the owner (`channels.pairing.list`). */
export const PendingPairingCode = Schema.Struct({
  channel: Schema.String,
  code: Schema.String,
  userId: Schema.String,
  chatId: Schema.String,
  createdAt: Schema.Number
})

/**
 * `channels.pairing.list`: DM pairing codes waiting for approval. OpenClaw has no
 * gateway method for this (its `pairing` CLI edits files on the host); gatehouse
 * adds it so that operators (and the Control UI) can approve remotely.
 */
export class ChannelsPairingList extends method("channels.pairing.list", {
  channel: opt(Schema.String.check(Schema.isMaxLength(64)))
}, Schema.Struct({ pending: Schema.Array(PendingPairingCode) })).annotate(MethodAccess, operator("operator.pairing")) {}

/** `channels.pairing.approve`: approves a code; its sender may talk to the bot. */
export class ChannelsPairingApprove extends method("channels.pairing.approve", {
  channel: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(64)),
  code: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(32))
}, Schema.Struct({ ok: Schema.Boolean, channel: Schema.String, userId: Schema.String, chatId: Schema.String }))
  .annotate(MethodAccess, operator("operator.pairing")) {}
