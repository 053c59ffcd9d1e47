import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { TestClock } from "effect/testing"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { type BotPost, fetchPost, makeBotApi, MESSAGE_LIMIT, splitMessage } from "../../src/channels/telegram.ts"
import { fakeTelegram } from "../helpers/fakeTelegram.ts"
import { memoryNode, memoryOperator } from "../helpers/memoryNode.ts"
import { coreLayer, homeWithConfig } from "../helpers/testGateway.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

const telegramConfig = (apiRoot: string, extra: Record<string, unknown> = {}) => ({
  channels: { telegram: { enabled: true, botToken: TOKEN, apiRoot, allowFrom: [111], dmPolicy: "allowlist", ...extra } }
})

describe("telegram channel, end to end", () => {
  it.live("a /run from an allowed user reaches the node, the answer reaches sendMessage, and a restart answers nothing twice", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(telegramConfig(tg.apiRoot))
      yield* Effect.gen(function*() {
        const node = yield* memoryNode()
        tg.deliver(111, `/run ${node.nodeId} system.which {"name":"sh"}`)
        const request = yield* node.nextInvoke
        assert.deepInclude(request.payload, { nodeId: node.nodeId, command: "system.which", paramsJSON: "{\"name\":\"sh\"}" })
        yield* node.answer(request.payload, { path: "/usr/bin/sh" })
        const first = yield* tg.sentCount(1)
        assert.strictEqual(first[0]!.chat_id, 111)
        assert.include(first[0]!.text, "/usr/bin/sh")

        tg.deliver(222, `/run ${node.nodeId} system.which {"name":"sh"}`)
        const second = yield* tg.sentCount(2)
        assert.strictEqual(second[1]!.chat_id, 222)
        assert.include(second[1]!.text, "not allowed")
        assert.include(second[1]!.text, "222")

        const op = yield* memoryOperator(["operator.read"])
        const status = yield* op.call("status")
        assert.deepStrictEqual(status.payload.channels, [{ id: "telegram", label: "Telegram", enabled: true, running: true }])
        const channels = yield* op.call("channels.status")
        assert.deepInclude(channels.payload.channelAccounts.telegram[0], { accountId: "default", enabled: true, configured: true, running: true, dmPolicy: "allowlist", allowFrom: ["111"], tokenSource: "config" })
        assert.strictEqual(channels.payload.channelLabels.telegram, "Telegram")
      }).pipe(Effect.provide(coreLayer({}, env)))

      const pollsBefore = tg.offsets.length
      yield* Effect.gen(function*() {
        const help = tg.deliver(111, "/help")
        const sent = yield* tg.sentCount(3)
        assert.strictEqual(sent.length, 3)
        assert.strictEqual(sent[2]!.chat_id, 111)
        assert.include(sent[2]!.text, "/run <node> <command>")
        assert.strictEqual(tg.offsets[pollsBefore], help)
      }).pipe(Effect.provide(coreLayer({}, env)))
      assert.strictEqual(tg.sent.length, 3)
    }).pipe(Effect.scoped))

  it.live("a refused bot token shows as the channel's lastError, without the token, and the gateway keeps serving", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram("111:OtherTokenTheFakeExpectsInsteadOfOurs9")
      const env = homeWithConfig(telegramConfig(tg.apiRoot))
      yield* Effect.gen(function*() {
        const op = yield* memoryOperator(["operator.read"])
        // The first getUpdates is refused at once; status shows it as soon as the runner has recorded it.
        let account: Record<string, any> = {}
        while (account.lastError === undefined) account = (yield* op.call("channels.status")).payload.channelAccounts.telegram[0]
        assert.include(account.lastError, "401 Unauthorized")
        assert.include(account.lastError, "TELEGRAM_BOT_TOKEN")
        assert.notInclude(JSON.stringify(account), "AAHdqTcv")
        assert.strictEqual(account.running, false)
        assert.strictEqual((yield* op.call("health")).ok, true)
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))

  it.live("under dmPolicy disabled nobody gets an answer", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(telegramConfig(tg.apiRoot, { dmPolicy: "disabled", allowFrom: [111, 333] }))
      yield* Effect.gen(function*() {
        tg.deliver(111, "/help")
        const probe = tg.deliver(333, "/help")
        // The channel has read both updates once it polls past them.
        yield* tg.polledFrom(probe + 1)
        assert.strictEqual(tg.sent.length, 0)
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))
})

describe("telegram channel, config reload", () => {
  it.live("a user removed from channels.telegram.allowFrom is refused from the next message on, without a restart", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(telegramConfig(tg.apiRoot))
      yield* Effect.gen(function*() {
        tg.deliver(111, "/help")
        assert.include((yield* tg.sentCount(1))[0]!.text, "/run <node> <command>")
        writeFileSync(join(env.OPENCLAW_STATE_DIR, "openclaw.json"), JSON.stringify(telegramConfig(tg.apiRoot, { allowFrom: [222] })))
        const { live } = yield* GatewayConfig
        while ((yield* SubscriptionRef.get(live)).config.channels.telegram?.allowFrom[0] !== "222") yield* Effect.sleep("20 millis")
        tg.deliver(111, "/help")
        const sent = yield* tg.sentCount(2)
        assert.include(sent[1]!.text, "not allowed")
        tg.deliver(222, "/help")
        assert.include((yield* tg.sentCount(3))[2]!.text, "/run <node> <command>")
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))
})

describe("send", () => {
  it.live("sends on the configured channel, once per idempotency key, and refuses what it cannot send", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(telegramConfig(tg.apiRoot))
      yield* Effect.gen(function*() {
        const op = yield* memoryOperator(["operator.write"])
        const long = "z".repeat(5000)
        const first = yield* op.call("send", { to: "telegram:111", message: long, idempotencyKey: "k1" })
        assert.strictEqual(first.ok, true, JSON.stringify(first.error))
        assert.deepInclude(first.payload, { channel: "telegram", chatId: "111", messageId: "2" })
        assert.deepStrictEqual(tg.sent.map((m) => [m.chat_id, m.text.length]), [[111, 4096], [111, 904]])
        const again = yield* op.call("send", { to: "111", channel: "telegram", message: long, idempotencyKey: "k1" })
        assert.strictEqual(again.payload.messageId, "2")
        assert.strictEqual(tg.sent.length, 2)
        const badRecipient = yield* op.call("send", { to: "bob", message: "hi", idempotencyKey: "k2" })
        assert.strictEqual(badRecipient.error.code, "UNAVAILABLE")
        assert.include(badRecipient.error.message, "not a Telegram chat id")
        const unknown = yield* op.call("send", { to: "1", channel: "slack", message: "hi", idempotencyKey: "k3" })
        assert.strictEqual(unknown.error.code, "INVALID_REQUEST")
        assert.include(unknown.error.message, "channel \"slack\" is not configured")
        const reader = yield* memoryOperator(["operator.read"])
        assert.isFalse((yield* reader.call("send", { to: "111", message: "hi", idempotencyKey: "k4" })).ok)
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))
})

describe("telegram Bot API client", () => {
  it.effect("waits the retry_after of a 429 through Clock, then sends again", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const post: BotPost = (method) =>
        Effect.sync(() => {
          calls.push(method)
          return calls.length === 1
            ? { status: 429, body: { ok: false, error_code: 429, description: "Too Many Requests: retry after 7", parameters: { retry_after: 7 } } }
            : { status: 200, body: { ok: true, result: { message_id: 1 } } }
        })
      const fiber = yield* Effect.forkChild(makeBotApi(post).sendMessage(1, "hi"))
      yield* Effect.yieldNow
      assert.deepStrictEqual(calls, ["sendMessage"])
      yield* TestClock.adjust("6999 millis")
      assert.deepStrictEqual(calls, ["sendMessage"])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, ["sendMessage", "sendMessage"])
    }))

  it.effect("reports a refused token with what to check", () =>
    Effect.gen(function*() {
      const post: BotPost = () => Effect.succeed({ status: 401, body: { ok: false, error_code: 401, description: "Unauthorized" } })
      const error = yield* Effect.flip(makeBotApi(post).getUpdates(undefined, 0))
      assert.include(error.message, "401 Unauthorized")
      assert.include(error.message, "TELEGRAM_BOT_TOKEN")
    }))

  it.live("never puts the bot token in an error", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const root = tg.apiRoot
      yield* Effect.promise(() => tg.close())
      const error = yield* Effect.flip(fetchPost(root, Redacted.make(TOKEN))("getUpdates", {}))
      assert.notInclude(error.message, TOKEN)
      assert.notInclude(error.message, "AAHdqTcv")
    }).pipe(Effect.scoped))

  it("splits long replies at Telegram's limit, at line breaks where it can", () => {
    const flat = "x".repeat(10_000)
    assert.deepStrictEqual(splitMessage(flat).map((p) => p.length), [MESSAGE_LIMIT, MESSAGE_LIMIT, 10_000 - 2 * MESSAGE_LIMIT])
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${"y".repeat(20)}`).join("\n")
    const pieces = splitMessage(lines)
    assert.isAbove(pieces.length, 1)
    for (const p of pieces) assert.isAtMost(p.length, MESSAGE_LIMIT)
    assert.strictEqual(pieces.join("\n"), lines)
    assert.deepStrictEqual(splitMessage("short"), ["short"])
  })
})
