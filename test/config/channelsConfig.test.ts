import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { REDACTED, redactConfig } from "../../src/config/redact.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { tempHome } from "../helpers/testGateway.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

const withFile = (doc: unknown) => {
  const home = tempHome()
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return { HOME: home }
}

describe("channels.telegram config", () => {
  it.effect("no channel when neither the file nor TELEGRAM_BOT_TOKEN mentions Telegram", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, { HOME: tempHome() })
      assert.isUndefined(config.channels.telegram)
    }))

  it.effect("reads OpenClaw's keys, normalises allowFrom, defaults apiRoot and dmPolicy", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, withFile({ channels: { telegram: { botToken: TOKEN, allowFrom: [111, "tg:222", " 333 "] } } }))
      const t = config.channels.telegram!
      assert.deepInclude(t, { enabled: true, tokenSource: "config", apiRoot: "https://api.telegram.org", dmPolicy: "pairing" })
      assert.deepStrictEqual(t.allowFrom, ["111", "222", "333"])
      assert.strictEqual(Redacted.value(t.botToken!), TOKEN)
      assert.notInclude(String(t.botToken), TOKEN)
    }))

  it.effect("refuses \"*\" in allowFrom at start, with the fix (anyone on Telegram could run node tools)", () =>
    Effect.gen(function*() {
      for (const star of ["*", " * ", "tg:*"]) {
        const error = yield* Effect.flip(GatewayConfig.make({}, withFile({ channels: { telegram: { botToken: TOKEN, allowFrom: [111, star] } } })))
        assert.include(error.message, "channels.telegram.allowFrom")
        assert.include(error.message, "gatehouse config unset channels.telegram.allowFrom")
        assert.notInclude(error.message, TOKEN)
      }
    }))

  it.effect("takes TELEGRAM_BOT_TOKEN when the file has no token; the file's token wins", () =>
    Effect.gen(function*() {
      const env = { ...withFile({ channels: { telegram: { dmPolicy: "allowlist" } } }), TELEGRAM_BOT_TOKEN: "42:envtoken" }
      const fromEnv = (yield* GatewayConfig.make({}, env)).config.channels.telegram!
      assert.strictEqual(fromEnv.tokenSource, "env")
      assert.strictEqual(Redacted.value(fromEnv.botToken!), "42:envtoken")
      const both = { ...withFile({ channels: { telegram: { botToken: TOKEN } } }), TELEGRAM_BOT_TOKEN: "42:envtoken" }
      assert.strictEqual((yield* GatewayConfig.make({}, both)).config.channels.telegram!.tokenSource, "config")
    }))

  it.effect("refuses an apiRoot that is not http(s) and a dmPolicy it does not implement", () =>
    Effect.gen(function*() {
      const badRoot = yield* Effect.flip(GatewayConfig.make({}, withFile({ channels: { telegram: { apiRoot: "ftp://x" } } })))
      assert.include(badRoot.message, "channels.telegram.apiRoot")
      const badPolicy = yield* Effect.flip(GatewayConfig.make({}, withFile({ channels: { telegram: { dmPolicy: "open" } } })))
      assert.include(badPolicy.message, "dmPolicy")
    }))

  it("redacts the bot token in config.get", () => {
    const shown = redactConfig({ channels: { telegram: { botToken: TOKEN, apiRoot: `https://api.telegram.org/bot${TOKEN}` } } }) as any
    assert.strictEqual(shown.channels.telegram.botToken, REDACTED)
    assert.notInclude(JSON.stringify(shown), "AAHdqTcv")
  })
})
