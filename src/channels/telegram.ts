/**
 * The Telegram channel on the Bot API: long polling `getUpdates` from the stored
 * offset, the sender checked against `dmPolicy`/`allowFrom`, the agent's reply sent
 * with `sendMessage` in pieces of at most 4096 characters. A `429` waits the
 * `retry_after` it names (through Clock) and tries again.
 *
 * The offset is written (atomically, under the state dir, with the bot's id) before
 * an update is answered, so a restart never answers the same update twice: an update whose
 * answer was cut short by a crash is dropped rather than repeated. Each chat's
 * updates are answered in order, different chats concurrently (at most
 * `MAX_CHATS_AT_ONCE`; polling waits once `MAX_UPDATES_IN_FLIGHT` are unanswered).
 *
 * Under `dmPolicy: "pairing"` an unknown sender gets a pairing code; once the
 * owner approves it (`gatehouse pairing approve telegram <code>`) the sender is
 * allowed. Each exchange goes to the chat's transcript (session `telegram:<chat id>`).
 *
 * The bot token is part of every request URL; it appears in no message this module
 * writes or fails with.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import * as Clock from "effect/Clock"
import { randomInt } from "node:crypto"
import { readFile } from "node:fs/promises"
import type { TelegramSettings } from "../config/resolve.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { textMessage } from "../chat/transcript.ts"
import type { AgentShape } from "../services/Agent.ts"
import type { ChatHistoryShape } from "../services/ChatHistory.ts"
import { CODE_ALPHABET, CODE_LENGTH, pairingReply, request as requestCode } from "./dmPairing.ts"
import { modifyPairing, pairingPath, readPairing } from "./dmPairingFile.ts"

/** Telegram's limit on the text of one message. */
export const MESSAGE_LIMIT = 4096
/** How long one `getUpdates` call waits for news (seconds). */
export const POLL_TIMEOUT_S = 30
/** How many times one call is retried after a 429 before the failure is reported. */
export const MAX_RETRIES_429 = 5
/** Chats answered at once. */
export const MAX_CHATS_AT_ONCE = 8
/** Updates taken but not yet answered before polling waits. */
export const MAX_UPDATES_IN_FLIGHT = 64

/** A pairing code from the crypto RNG. */
export const randomPairingCode = () => Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join("")

/** The Bot API answered with an error. */
export class TelegramApiFailed extends Schema.TaggedClass<TelegramApiFailed>()("TelegramApiFailed", {
  method: Schema.String,
  status: Schema.Number,
  description: Schema.String
}) {}

/** The Bot API could not be reached, or answered something that is not the Bot API's JSON. */
export class TelegramUnreachable extends Schema.TaggedClass<TelegramUnreachable>()("TelegramUnreachable", {
  method: Schema.String,
  message: Schema.String
}) {}

/** The channel cannot run as configured. */
export class TelegramMisconfigured extends Schema.TaggedClass<TelegramMisconfigured>()("TelegramMisconfigured", {
  message: Schema.String
}) {}

export class TelegramError extends Schema.TaggedError<TelegramError>()("TelegramError", {
  reason: Schema.Union([TelegramApiFailed, TelegramUnreachable, TelegramMisconfigured])
}) {
  override get message() {
    const r = this.reason
    switch (r._tag) {
      case "TelegramApiFailed":
        return `telegram ${r.method}: ${r.status} ${r.description}${
          r.status === 401 ? " (check channels.telegram.botToken or TELEGRAM_BOT_TOKEN)" : r.status === 409 ? " (another client polls this bot, or a webhook is set)" : ""
        }`
      case "TelegramUnreachable":
        return `telegram ${r.method}: ${r.message}`
      case "TelegramMisconfigured":
        return `telegram: ${r.message}`
    }
  }
}

/** One HTTP exchange with the Bot API: a JSON body posted to `method`, the status and parsed JSON back. */
export type BotPost = (method: string, body: unknown) => Effect.Effect<{ readonly status: number; readonly body: unknown }, TelegramError>

/** `post` over `fetch`, to `<apiRoot>/bot<token>/<method>`. */
export const fetchPost = (apiRoot: string, token: Redacted.Redacted<string>): BotPost => (method, body) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(`${apiRoot}/bot${Redacted.value(token)}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal
      })
      const text = await response.text()
      const json = Result.try(() => JSON.parse(text) as unknown)
      return { status: response.status, body: Result.isSuccess(json) ? json.success : undefined }
    },
    catch: (e) => {
      // fetch errors may quote the URL, and so the token: never pass one on unscrubbed.
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ""
      const message = (e instanceof Error ? e.message : String(e)) + cause
      return new TelegramError({ reason: new TelegramUnreachable({ method, message: message.replaceAll(Redacted.value(token), "<token>") }) })
    }
  }).pipe(
    // A connection that silently died would hold a long poll forever: give up past the poll's own timeout.
    Effect.timeoutOrElse({
      duration: Duration.seconds(requestTimeoutS(body)),
      orElse: () => Effect.fail(new TelegramError({ reason: new TelegramUnreachable({ method, message: `no answer in ${requestTimeoutS(body)} s` }) }))
    })
  )

const requestTimeoutS = (body: unknown) => {
  const poll = (body as { timeout?: unknown } | null)?.timeout
  return (typeof poll === "number" ? poll : 0) + 30
}

/** A Telegram message as the channel reads it (other fields are ignored). */
const Message = Schema.Struct({
  message_id: Schema.Number,
  from: Schema.optionalKey(Schema.Struct({ id: Schema.Number, is_bot: Schema.optionalKey(Schema.Boolean) })),
  chat: Schema.Struct({ id: Schema.Number, type: Schema.String }),
  text: Schema.optionalKey(Schema.String)
})
const Update = Schema.Struct({ update_id: Schema.Number, message: Schema.optionalKey(Message) })
export type Update = typeof Update.Type

const Envelope = Schema.Struct({
  ok: Schema.Boolean,
  result: Schema.optionalKey(Schema.Unknown),
  description: Schema.optionalKey(Schema.String),
  error_code: Schema.optionalKey(Schema.Number),
  parameters: Schema.optionalKey(Schema.Struct({ retry_after: Schema.optionalKey(Schema.Number) }))
})
const decodeEnvelope = Schema.decodeUnknownResult(Envelope)
const decodeUpdate = Schema.decodeUnknownResult(Update)

/** The Bot API calls the channel makes. */
export interface BotApi {
  readonly getUpdates: (offset: number | undefined, timeoutS: number) => Effect.Effect<ReadonlyArray<unknown>, TelegramError>
  /** Sends one message (at most 4096 characters); returns its message id. */
  readonly sendMessage: (chatId: number | string, text: string) => Effect.Effect<number, TelegramError>
}

/** The Bot API over `post`: envelopes decoded, 429s waited out (`retry_after` seconds, through Clock). */
export const makeBotApi = (post: BotPost): BotApi => {
  const call = (method: string, body: unknown): Effect.Effect<unknown, TelegramError> =>
    Effect.gen(function*() {
      for (let attempt = 0;; attempt++) {
        const { body: raw, status } = yield* post(method, body)
        const envelope = decodeEnvelope(raw)
        if (Result.isFailure(envelope)) {
          return yield* new TelegramError({
            reason: new TelegramUnreachable({ method, message: `HTTP ${status} with a body that is not a Bot API answer` })
          })
        }
        const e = envelope.success
        if (e.ok) return e.result
        const code = e.error_code ?? status
        const retryAfter = e.parameters?.retry_after
        if (code === 429 && attempt < MAX_RETRIES_429) {
          const waitS = Math.max(1, Math.min(retryAfter ?? 1, 3600))
          yield* Effect.logWarning(`telegram ${method}: rate limited, retrying in ${waitS} s`)
          yield* Effect.sleep(Duration.seconds(waitS))
          continue
        }
        return yield* new TelegramError({ reason: new TelegramApiFailed({ method, status: code, description: e.description ?? "" }) })
      }
    })
  return {
    getUpdates: (offset, timeoutS) =>
      Effect.map(call("getUpdates", { ...(offset === undefined ? {} : { offset }), timeout: timeoutS, allowed_updates: ["message"] }), (r) =>
        Array.isArray(r) ? r : []),
    sendMessage: (chatId, text) =>
      Effect.map(call("sendMessage", { chat_id: chatId, text }), (r) => {
        const id = (r as { message_id?: unknown } | null)?.message_id
        return typeof id === "number" ? id : 0
      })
  }
}

/** `text` in pieces of at most `limit` characters, cut at a line break or a space where there is one. */
export const splitMessage = (text: string, limit = MESSAGE_LIMIT): ReadonlyArray<string> => {
  const pieces: Array<string> = []
  let rest = text
  while (rest.length > limit) {
    const window = rest.slice(0, limit)
    const newline = window.lastIndexOf("\n")
    const space = window.lastIndexOf(" ")
    const cut = newline > limit / 2 ? newline : space > limit / 2 ? space : limit
    pieces.push(rest.slice(0, cut))
    rest = rest.slice(cut).replace(/^[\n ]/, "")
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest)
  return pieces
}

/** Where the channel keeps the next update id to ask for. */
export const offsetPath = (stateDir: string) => `${stateDir}/channels/telegram-offset.json`

// `bot`: the bot's id (the token's public part before ":"); files from before it was kept have none.
const OffsetFile = Schema.fromJsonString(Schema.Struct({ offset: Schema.Int, bot: Schema.optional(Schema.String) }))
const decodeOffsetFile = Schema.decodeUnknownResult(OffsetFile)

/** The bot's id: the public part of its token before ":" (update ids count per bot). */
export const botIdOf = (token: string): string | undefined => /^(\d+):/.exec(token)?.[1]

const readOffset = (path: string, bot: string | undefined): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    const text = yield* Effect.promise(() => readFile(path, "utf8").catch(() => undefined))
    if (text === undefined) return undefined
    const decoded = decodeOffsetFile(text)
    if (Result.isSuccess(decoded)) {
      const kept = decoded.success
      // Another bot's offset would skip this bot's updates (their ids are its own), not guard against repeats.
      if (kept.bot !== undefined && bot !== undefined && kept.bot !== bot) {
        yield* Effect.logInfo(`${path} holds another bot's update offset; starting from the updates Telegram keeps for this bot`)
        return undefined
      }
      return kept.offset
    }
    yield* Effect.logWarning(`${path} does not hold an update offset; Telegram will resend the updates it still keeps`)
    return undefined
  })

/** What a sender may do under the configured policy. */
export const admission = (settings: Pick<TelegramSettings, "dmPolicy" | "allowFrom">, userId: string): "allowed" | "refused" | "ignored" => {
  if (settings.dmPolicy === "disabled") return "ignored"
  return settings.allowFrom.includes(userId) ? "allowed" : "refused"
}

const refusal = (settings: TelegramSettings, userId: string) =>
  settings.dmPolicy === "pairing"
    ? `This bot answers only people its owner has approved. Your Telegram user id is ${userId}: ask the owner to add it to channels.telegram.allowFrom.`
    : `Sorry, you are not allowed to use this bot. Your Telegram user id is ${userId}; the owner can add it to channels.telegram.allowFrom.`

/** What the channel runs with; `history` and `pairingFile` are optional (no transcript; pairing refuses everyone unknown). */
export interface TelegramDeps {
  readonly api: BotApi
  readonly agent: AgentShape
  readonly offsetFile: string
  /** The bot's id, kept with the offset so a different bot does not inherit it. */
  readonly botId?: string | undefined
  readonly history?: ChatHistoryShape
  readonly pairingFile?: string
  readonly newCode?: () => string
}

/** Runs the channel: polls, answers, and fails only when the Bot API cannot be used (the runner restarts it). */
export const runTelegram = (settings: TelegramSettings, deps: TelegramDeps) =>
  Effect.gen(function*() {
    const { agent, api, offsetFile } = deps
    const pairingFile = deps.pairingFile
    // Senders approved through pairing (read on every unknown sender, so an approval in another process counts at once).
    const admit = (userId: string) =>
      Effect.gen(function*() {
        const verdict = admission(settings, userId)
        if (verdict !== "refused" || settings.dmPolicy !== "pairing" || pairingFile === undefined) return verdict
        const state = yield* readPairing(pairingFile).pipe(
          Effect.catch((e) => Effect.as(Effect.logError(`telegram pairing: ${e.message}`), undefined))
        )
        return state?.approved.includes(userId) === true ? "allowed" as const : "refused" as const
      })
    const pairingAnswer = (userId: string, chatId: number) =>
      Effect.gen(function*() {
        if (pairingFile === undefined) return refusal(settings, userId)
        const now = yield* Clock.currentTimeMillis
        const issued = yield* modifyPairing(pairingFile, (s) => requestCode(s, { userId, chatId: String(chatId) }, now, deps.newCode ?? randomPairingCode))
        yield* Effect.logInfo(`telegram: pairing code issued to user ${userId}; approve with \`gatehouse pairing approve telegram ${issued.code}\``)
        return pairingReply("telegram", userId, issued.code)
      }).pipe(Effect.catch((e) => Effect.as(Effect.logError(`telegram pairing: ${e.message}`), refusal(settings, userId))))
    // A transcript that cannot be written is logged; the reply still goes out.
    const record = (chatId: number, asked: string, answered: string) =>
      deps.history === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (ts) =>
        deps.history!.append(`telegram:${chatId}`, [textMessage("user", asked, ts), textMessage("assistant", answered, ts)])).pipe(
          Effect.catch((e) => Effect.logWarning(`telegram: chat history not written: ${e.reason.message}`))
        )
    const reply = (chatId: number, text: string) =>
      Effect.forEach(splitMessage(text), (piece) => api.sendMessage(chatId, piece), { discard: true }).pipe(
        // One reply that cannot be delivered (chat gone, bot blocked) must not stop the channel.
        Effect.catchReason("TelegramError", "TelegramApiFailed", (r) =>
          r.status === 401 ? Effect.fail(new TelegramError({ reason: r })) : Effect.logWarning(`telegram sendMessage to ${chatId}: ${r.status} ${r.description}`))
      )
    const handle = (update: Update) =>
      Effect.gen(function*() {
        const m = update.message
        if (m === undefined || m.from === undefined || m.text === undefined || m.from.is_bot === true) return
        const userId = String(m.from.id)
        const verdict = yield* admit(userId)
        if (verdict === "ignored") return
        if (verdict === "refused") {
          yield* Effect.logInfo(`telegram: refused a message from user ${userId} (not in channels.telegram.allowFrom)`)
          return yield* reply(m.chat.id, settings.dmPolicy === "pairing" ? yield* pairingAnswer(userId, m.chat.id) : refusal(settings, userId))
        }
        const text = yield* agent.reply({ channel: "telegram", from: userId, text: m.text, sessionKey: `telegram:${m.chat.id}` }).pipe(
          Effect.catch((e) => Effect.succeed(`Sorry, I cannot answer now: ${e.reason.message}`))
        )
        yield* record(m.chat.id, m.text, text)
        yield* reply(m.chat.id, text)
      })

    // Per chat: one lock (answers in order) and how many updates hold or wait for it.
    const chats = new Map<number, { readonly lock: Semaphore.Semaphore; waiting: number }>()
    const workers = yield* Semaphore.make(MAX_CHATS_AT_ONCE)
    const inFlight = yield* Semaphore.make(MAX_UPDATES_IN_FLIGHT)
    const fatal = yield* Deferred.make<never, TelegramError>()
    const dispatch = (update: Update) =>
      Effect.gen(function*() {
        yield* inFlight.take(1)
        const chatId = update.message?.chat.id ?? 0
        const chat = chats.get(chatId) ?? { lock: Semaphore.makeUnsafe(1), waiting: 0 }
        chats.set(chatId, chat)
        chat.waiting++
        yield* Effect.forkChild(
          chat.lock.withPermits(1)(workers.withPermits(1)(handle(update))).pipe(
            // A Bot API failure (a revoked token) ends the channel, as before; nothing else does.
            Effect.catch((e) => Deferred.fail(fatal, e)),
            Effect.ensuring(Effect.suspend(() => {
              if (--chat.waiting === 0) chats.delete(chatId)
              return inFlight.release(1)
            }))
          )
        )
      })

    let offset = yield* readOffset(offsetFile, deps.botId)
    const poll = Effect.gen(function*() {
      while (true) {
        const updates = yield* api.getUpdates(offset, POLL_TIMEOUT_S)
        for (const raw of updates) {
          const id = (raw as { update_id?: unknown } | null)?.update_id
          if (typeof id !== "number" || !Number.isInteger(id)) continue
          if (offset !== undefined && id < offset) continue
          offset = id + 1
          yield* writeFileAtomic(offsetFile, JSON.stringify({ offset, ...(deps.botId === undefined ? {} : { bot: deps.botId }) }) + "\n").pipe(Effect.orDie)
          const update = decodeUpdate(raw)
          if (Result.isSuccess(update)) yield* dispatch(update.success)
        }
      }
    })
    return yield* Effect.raceFirst(poll, Deferred.await(fatal))
  })

/** Checks the settings and runs the channel over `fetch`. */
export const telegramChannel = (settings: TelegramSettings, agent: AgentShape, stateDir: string, history?: ChatHistoryShape): Effect.Effect<void, TelegramError> =>
  settings.botToken === undefined
    ? Effect.fail(new TelegramError({ reason: new TelegramMisconfigured({ message: "no bot token: set channels.telegram.botToken or TELEGRAM_BOT_TOKEN" }) }))
    : runTelegram(settings, {
      api: makeBotApi(fetchPost(settings.apiRoot, settings.botToken)),
      agent,
      offsetFile: offsetPath(stateDir),
      botId: botIdOf(Redacted.value(settings.botToken)),
      pairingFile: pairingPath(stateDir, "telegram"),
      ...(history === undefined ? {} : { history })
    })

/** A `send` recipient as Telegram takes it: a chat id (`123`, `-100…`, `telegram:123`) or a public `@channel`. */
export const parseChatId = (to: string): number | string | undefined => {
  const t = to.trim().replace(/^(telegram|tg):/i, "")
  if (/^-?\d{1,20}$/.test(t)) return Number(t)
  return /^@[A-Za-z0-9_]{5,32}$/.test(t) ? t : undefined
}

/** The `send` of the channel: the text in pieces; answers the last piece's message id. */
export const telegramSend = (settings: TelegramSettings) => (to: string, text: string): Effect.Effect<{ readonly messageId: string; readonly chatId: string }, string> => {
  if (settings.botToken === undefined) return Effect.fail("no bot token: set channels.telegram.botToken or TELEGRAM_BOT_TOKEN")
  const chatId = parseChatId(to)
  if (chatId === undefined) return Effect.fail(`"${to.slice(0, 64)}" is not a Telegram chat id (a number such as 123456789, or @channelname)`)
  const api = makeBotApi(fetchPost(settings.apiRoot, settings.botToken))
  return Effect.forEach(splitMessage(text), (piece) => api.sendMessage(chatId, piece)).pipe(
    Effect.map((ids) => ({ messageId: String(ids.at(-1) ?? 0), chatId: String(chatId) })),
    Effect.mapError((e) => e.message)
  )
}
