/**
 * Agent: turns a message that arrived on a channel into the reply to send back,
 * calling node tools through NodeRegistry when the message asks for it.
 *
 * Layers: `AgentRules` (the embedded default: slash commands, fully offline) and
 * `AgentLanguageModel` (any OpenAI-compatible model, on effect/ai, with node tools).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** A message as a channel hands it to the agent. */
export interface IncomingMessage {
  /** The channel it came from (`telegram`, …). */
  readonly channel: string
  /** The sender's id on that channel. */
  readonly from: string
  readonly text: string
  /** The conversation it belongs to (`main`, a WebChat session, `telegram:<chat id>`); its transcript in ChatHistory may already hold this message. */
  readonly sessionKey?: string | undefined
}

/** The agent cannot answer now (its backend is down or refused the request). */
export class AgentUnavailable extends Schema.TaggedClass<AgentUnavailable>()("AgentUnavailable", {
  message: Schema.String
}) {}

export class AgentError extends Schema.TaggedError<AgentError>()("AgentError", {
  reason: Schema.Union([AgentUnavailable])
}) {}

export interface AgentShape {
  /** The reply to `message` (never empty). */
  readonly reply: (message: IncomingMessage) => Effect.Effect<string, AgentError>
}

export class Agent extends Context.Service<Agent, AgentShape>()("gatehouse/services/Agent") {}
