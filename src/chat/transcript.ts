/**
 * The transcript policy, pure: how a message is stored (long text cut with a
 * marker) and how a session's list stays bounded (the oldest messages go first).
 */
import type { ChatMessage } from "../protocol/rpcs/chat.ts"

/** A text message from `role` at `timestamp`. */
export const textMessage = (role: ChatMessage["role"], text: string, timestamp: number): ChatMessage => ({
  role,
  content: [{ type: "text", text }],
  timestamp
})

/** The message's text parts joined. */
export const textOf = (message: ChatMessage): string => message.content.map((p) => p.text).join("")

/** `message` with each text part cut to `maxChars` (a marker says how much was cut). */
export const capMessage = (message: ChatMessage, maxChars: number): ChatMessage =>
  message.content.every((p) => p.text.length <= maxChars) ? message : {
    ...message,
    content: message.content.map((p) =>
      p.text.length <= maxChars ? p : { type: "text" as const, text: `${p.text.slice(0, maxChars)}\n[… ${p.text.length - maxChars} more characters not kept]` }
    )
  }

/** `existing` followed by `added` (each capped), keeping only the last `maxMessages`. */
export const appendBounded = (
  existing: ReadonlyArray<ChatMessage>,
  added: ReadonlyArray<ChatMessage>,
  maxMessages: number,
  maxChars: number
): ReadonlyArray<ChatMessage> => {
  const all = [...existing, ...added.map((m) => capMessage(m, maxChars))]
  return all.length <= maxMessages ? all : all.slice(all.length - maxMessages)
}

/** The last `limit` messages. */
export const lastMessages = (messages: ReadonlyArray<ChatMessage>, limit: number): ReadonlyArray<ChatMessage> =>
  limit >= messages.length ? messages : messages.slice(messages.length - limit)
