/**
 * ChatHistory: each session's transcript (WebChat, `agent` runs, channel
 * exchanges), kept bounded. Layers: `ChatHistoryFile` (one file per session under
 * the state dir, the embedded default) and `ChatHistoryMemory` (tests).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ChatMessage } from "../protocol/rpcs/chat.ts"

/** Messages kept per session (the oldest go first). */
export const MAX_MESSAGES_PER_SESSION = 200
/** Sessions kept (the least recently written goes first). */
export const MAX_SESSIONS = 100
/** Characters of one message kept in the transcript; longer text is cut with a marker. */
export const MAX_STORED_CHARS = 16 * 1024

/** The transcript could not be read or written. */
export class ChatHistoryUnavailable extends Schema.TaggedClass<ChatHistoryUnavailable>()("ChatHistoryUnavailable", {
  message: Schema.String
}) {}

export class ChatHistoryError extends Schema.TaggedError<ChatHistoryError>()("ChatHistoryError", {
  reason: Schema.Union([ChatHistoryUnavailable])
}) {}

export interface ChatHistoryShape {
  /** Appends `messages` to the session's transcript (persisted before it returns). */
  readonly append: (sessionKey: string, messages: ReadonlyArray<ChatMessage>) => Effect.Effect<void, ChatHistoryError>
  /** The session's last `limit` messages, oldest first. */
  readonly read: (sessionKey: string, limit: number) => Effect.Effect<ReadonlyArray<ChatMessage>, ChatHistoryError>
}

export class ChatHistory extends Context.Service<ChatHistory, ChatHistoryShape>()("gatehouse/services/ChatHistory") {}
