import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig, type LiveConfig } from "../../src/services/GatewayConfig.ts"
import { fakeTelegram } from "../helpers/fakeTelegram.ts"
import { memoryOperator } from "../helpers/memoryNode.ts"
import { reloadGateway } from "../helpers/reloadGateway.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
// The same bot (id 123456789) with a regenerated secret, and a different bot.
const OTHER_TOKEN = "123456789:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
const OTHER_BOT = "987654321:CCHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2"

const telegramConfig = (apiRoot: string, extra: Record<string, unknown> = {}) => ({
  channels: { telegram: { enabled: true, botToken: TOKEN, apiRoot, allowFrom: [111], dmPolicy: "allowlist", ...extra } }
})

// Real time: the file watcher applies the edit; the channel runs over real loopback HTTP.
const applied = (done: (l: LiveConfig) => boolean) =>
  Effect.gen(function*() {
    const { live } = yield* GatewayConfig
    while (!done(yield* SubscriptionRef.get(live))) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeout("10 seconds"))

// A wait on the fake server that fails the test instead of hanging it.
const within = <A, E, R>(wait: Effect.Effect<A, E, R>) => Effect.timeout(wait, "10 seconds")

const telegramAccount = Effect.gen(function*() {
  const op = yield* memoryOperator(["operator.read"])
  return (yield* op.call("channels.status")).payload.channelAccounts.telegram?.[0] as Record<string, unknown> | undefined
})

describe("telegram channel, live settings", () => {
  it.live("a new apiRoot and token of the same bot restart the channel on the new server, keeping the update offset", () =>
    Effect.gen(function*() {
      const first = yield* fakeTelegram(TOKEN)
      const second = yield* fakeTelegram(OTHER_TOKEN)
      const logged: Array<string> = []
      const gw = reloadGateway(telegramConfig(first.apiRoot), logged)
      yield* Effect.gen(function*() {
        const answered = first.deliver(111, "/help")
        assert.include((yield* within(first.sentCount(1)))[0]!.text, "/run <node> <command>")
        yield* within(first.polledFrom(answered + 1))

        gw.write(telegramConfig(second.apiRoot, { botToken: OTHER_TOKEN }))
        yield* applied((l) => l.config.channels.telegram?.apiRoot === second.apiRoot)
        // The new server replays an update with the id already answered: the carried-over offset skips it.
        const replay = second.deliver(111, "/help")
        assert.strictEqual(replay, answered)
        const fresh = second.deliver(111, "/help")
        yield* within(second.polledFrom(answered + 1))
        assert.strictEqual(second.offsets[0], answered + 1)
        assert.strictEqual((yield* within(second.sentCount(1))).length, 1)
        yield* within(second.polledFrom(fresh + 1))
        assert.strictEqual(second.sent.length, 1)
        assert.strictEqual(first.sent.length, 1)

        assert.isTrue(logged.includes("channel telegram restarted: config changed"), logged.join("\n"))
        assert.isTrue(logged.some((l) => l.includes("channels.telegram.apiRoot")), logged.join("\n"))
        assert.notInclude(logged.join("\n"), "AAHdqTcv")
        assert.notInclude(logged.join("\n"), "BBHdqTcv")
        assert.deepInclude(yield* telegramAccount, { enabled: true, running: true })
      }).pipe(Effect.provide(gw.layer))
    }).pipe(Effect.scoped))

  it.live("a channel configured after start starts, and enabled: false stops it", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const logged: Array<string> = []
      const gw = reloadGateway({}, logged)
      yield* Effect.gen(function*() {
        assert.isUndefined(yield* telegramAccount)
        gw.write(telegramConfig(tg.apiRoot))
        yield* applied((l) => l.config.channels.telegram !== undefined)
        tg.deliver(111, "/help")
        assert.include((yield* within(tg.sentCount(1)))[0]!.text, "/run <node> <command>")
        assert.isTrue(logged.includes("channel telegram started: config changed"), logged.join("\n"))
        assert.deepInclude(yield* telegramAccount, { enabled: true, running: true })

        gw.write(telegramConfig(tg.apiRoot, { enabled: false }))
        yield* applied((l) => l.config.channels.telegram?.enabled === false)
        assert.isTrue(logged.includes("channel telegram stopped: config changed"), logged.join("\n"))
        assert.deepInclude(yield* telegramAccount, { enabled: false, running: false })
        const polls = tg.offsets.length
        tg.deliver(111, "/help")
        yield* Effect.sleep("300 millis")
        assert.strictEqual(tg.offsets.length, polls)
        assert.strictEqual(tg.sent.length, 1)
      }).pipe(Effect.provide(gw.layer))
    }).pipe(Effect.scoped))

  it.live("a token of another bot starts from that bot's own updates, not the old bot's offset", () =>
    Effect.gen(function*() {
      const first = yield* fakeTelegram(TOKEN)
      const other = yield* fakeTelegram(OTHER_BOT)
      const logged: Array<string> = []
      const gw = reloadGateway(telegramConfig(first.apiRoot), logged)
      yield* Effect.gen(function*() {
        const answered = first.deliver(111, "/help")
        yield* within(first.sentCount(1))
        yield* within(first.polledFrom(answered + 1))
        gw.write(telegramConfig(other.apiRoot, { botToken: OTHER_BOT }))
        yield* applied((l) => l.config.channels.telegram?.apiRoot === other.apiRoot)
        // Update ids count per bot: the other bot's first update has the id the first bot's had.
        assert.strictEqual(other.deliver(111, "/help"), answered)
        assert.include((yield* within(other.sentCount(1)))[0]!.text, "/run <node> <command>")
        assert.isUndefined(other.offsets[0])
        assert.isTrue(logged.some((l) => l.includes("holds another bot's update offset")), logged.join("\n"))
        assert.notInclude(logged.join("\n"), "CCHdqTcv")
      }).pipe(Effect.provide(gw.layer))
    }).pipe(Effect.scoped))
})
