/**
 * ChatHistory in memory (tests, ephemeral gateways), with the same caps as the
 * file layer.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { appendBounded, lastMessages } from "../chat/transcript.ts"
import type { ChatMessage } from "../protocol/rpcs/chat.ts"
import { ChatHistory, MAX_MESSAGES_PER_SESSION, MAX_SESSIONS, MAX_STORED_CHARS } from "../services/ChatHistory.ts"

export const make = Effect.sync(() => {
  // Insertion order is write order: the first key is the least recently written session.
  const sessions = new Map<string, ReadonlyArray<ChatMessage>>()
  return ChatHistory.of({
    append: (sessionKey, messages) =>
      Effect.sync(() => {
        const next = appendBounded(sessions.get(sessionKey) ?? [], messages, MAX_MESSAGES_PER_SESSION, MAX_STORED_CHARS)
        sessions.delete(sessionKey)
        sessions.set(sessionKey, next)
        if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!)
      }),
    read: (sessionKey, limit) => Effect.sync(() => lastMessages(sessions.get(sessionKey) ?? [], limit))
  })
})

export const layer = Layer.effect(ChatHistory, make)
