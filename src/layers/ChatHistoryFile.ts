/**
 * ChatHistory on disk: one JSON file per session under `<stateDir>/chat/`, named
 * by a hash of the session key (a client-chosen key never becomes a path), each
 * written atomically, so a transcript survives restarts and `kill -9`. A file
 * that does not decode is moved aside with a logged reason and the session starts
 * empty. At most `MAX_SESSIONS` files: writing a new session removes the least
 * recently written one.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { createHash } from "node:crypto"
import { mkdir, readdir, rm, stat } from "node:fs/promises"
import { join } from "node:path"
import { appendBounded, lastMessages } from "../chat/transcript.ts"
import { type JsonStore, makeFileStore } from "../fs/jsonStore.ts"
import { ChatMessage } from "../protocol/rpcs/chat.ts"
import {
  ChatHistory,
  ChatHistoryError,
  ChatHistoryUnavailable,
  MAX_MESSAGES_PER_SESSION,
  MAX_SESSIONS,
  MAX_STORED_CHARS
} from "../services/ChatHistory.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"

const SessionFile = Schema.Struct({ sessionKey: Schema.String, messages: Schema.Array(ChatMessage) })
type SessionFile = typeof SessionFile.Type

/** The file a session's transcript lives in. */
export const sessionFileName = (sessionKey: string) => `${sessionDigest(sessionKey).digest("hex").slice(0, 32)}.json`

// UTF-8 turns every lone surrogate into U+FFFD, so two ill-formed keys (or one and its U+FFFD spelling) would
// share a file: those are hashed over their UTF-16 code units after a 0xFF byte, which no UTF-8 text holds, so
// no well-formed key's input is ever the same bytes. Well-formed keys keep the names they always had.
const LONE_SURROGATE = /\p{Surrogate}/u
const NOT_UTF8 = Buffer.from([0xff])
const sessionDigest = (sessionKey: string) =>
  !LONE_SURROGATE.test(sessionKey)
    ? createHash("sha256").update(sessionKey)
    : createHash("sha256").update(NOT_UTF8).update(sessionKey, "utf16le")

/** The history under `dir`. */
export const make = Effect.fnUntraced(function*(dir: string) {
  const unavailable = (e: Error) => new ChatHistoryError({ reason: new ChatHistoryUnavailable({ message: e.message }) })
  yield* Effect.tryPromise({ try: () => mkdir(dir, { recursive: true, mode: 0o700 }), catch: (e) => unavailable(e as Error) })
  // File name → last write (ms); insertion order is write order once loaded.
  const written = new Map<string, number>(
    yield* Effect.tryPromise({
      try: async () => {
        const names = (await readdir(dir)).filter((n) => /^[0-9a-f]{32}\.json$/.test(n))
        const stamped = await Promise.all(names.map(async (n) => [n, (await stat(join(dir, n))).mtimeMs] as const))
        return stamped.sort((a, b) => a[1] - b[1])
      },
      catch: (e) => unavailable(e as Error)
    })
  )
  const open = new Map<string, JsonStore<SessionFile>>()
  const lock = yield* Semaphore.make(1)

  const storeOf = (sessionKey: string) =>
    Effect.suspend(() => {
      const name = sessionFileName(sessionKey)
      const known = open.get(name)
      if (known !== undefined) return Effect.succeed(known)
      return makeFileStore(join(dir, name), SessionFile, { sessionKey, messages: [] }).pipe(
        Effect.tap((store) => Effect.sync(() => open.set(name, store))),
        Effect.mapError(unavailable)
      )
    })

  // Removes the least recently written sessions until a new one fits.
  const evictFor = (name: string) =>
    Effect.gen(function*() {
      while (!written.has(name) && written.size >= MAX_SESSIONS) {
        const oldest = written.keys().next().value!
        written.delete(oldest)
        open.delete(oldest)
        yield* Effect.tryPromise({ try: () => rm(join(dir, oldest), { force: true }), catch: (e) => unavailable(e as Error) })
      }
    })

  return ChatHistory.of({
    append: (sessionKey, messages) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const name = sessionFileName(sessionKey)
        yield* evictFor(name)
        const store = yield* storeOf(sessionKey)
        // A file another key holds (a hash collision) is never appended to as if it were this key's.
        const mine = (s: SessionFile) => (s.sessionKey === sessionKey ? s.messages : [])
        yield* store.modify((s) => [undefined, { sessionKey, messages: appendBounded(mine(s), messages, MAX_MESSAGES_PER_SESSION, MAX_STORED_CHARS) }])
          .pipe(Effect.mapError(unavailable))
        written.delete(name)
        written.set(name, yield* Clock.currentTimeMillis)
      })),
    read: (sessionKey, limit) =>
      Effect.gen(function*() {
        if (!written.has(sessionFileName(sessionKey)) && !open.has(sessionFileName(sessionKey))) return []
        const store = yield* lock.withPermits(1)(storeOf(sessionKey))
        const s = yield* store.get
        // Two keys sharing a file name (a hash collision) never see each other's messages.
        return s.sessionKey === sessionKey ? lastMessages(s.messages, limit) : []
      })
  })
})

/** The history under the configured state dir (a state dir that cannot be listed is a defect: nothing else works then). */
export const layer: Layer.Layer<ChatHistory, never, GatewayConfig> = Layer.effect(
  ChatHistory,
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    return yield* Effect.orDie(make(join(config.paths.stateDir, "chat")))
  })
)
