import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { startFakeTelegram } from "../helpers/fakeTelegram.ts"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"

// The published OpenClaw CLI (OPENCLAW_BIN, as in openclaw.test.ts) reading gatehouse's channels.
const bin = process.env.OPENCLAW_BIN
const available = bin !== undefined && existsSync(bin)

describe.runIf(available)("openclaw channels status and message send against gatehouse", () => {
  const token = "compat-token-channels-5b1e"
  const botToken = "987654321:AAFakeTokenForTheLocalBotApiDouble01"
  let port = 0
  let daemon: Daemon
  let tg: Awaited<ReturnType<typeof startFakeTelegram>>
  const ocHome = tempHome()
  mkdirSync(join(ocHome, "tmp"), { recursive: true })
  const openclaw = (...args: Array<string>) =>
    run(args, { HOME: ocHome, TMPDIR: join(ocHome, "tmp"), OPENCLAW_DISABLE_BONJOUR: "1", NO_COLOR: "1", OPENCLAW_GATEWAY_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: token }, bin!)

  beforeAll(async () => {
    tg = await startFakeTelegram(botToken)
    port = await freePort()
    const env = homeWithConfig({ channels: { telegram: { botToken, apiRoot: tg.apiRoot, allowFrom: [111], dmPolicy: "allowlist" } } })
    daemon = await startDaemon(["gateway", "run", "--port", String(port), "--token", token], env, /listening on ws:/)
  })

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
    await tg.close()
  })

  it("openclaw channels status prints the Telegram channel and its policy", async () => {
    const r = await openclaw("channels", "status")
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /Telegram/)
    assert.match(r.stdout, /running/)
    assert.match(r.stdout, /dm:allowlist/)
    assert.notInclude(r.stdout + r.stderr, "AAFakeToken")
    const json = await openclaw("channels", "status", "--json")
    assert.strictEqual(json.code, 0, json.stdout + json.stderr)
    assert.strictEqual(JSON.parse(json.stdout).channelAccounts.telegram[0].running, true)
  }, 60_000)

  it("openclaw message send delivers through the gateway's Telegram channel", async () => {
    const r = await openclaw("message", "send", "--channel", "telegram", "--target", "111", "--message", "hello from openclaw", "--json")
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    assert.deepInclude(tg.sent.at(-1)!, { chat_id: 111, text: "hello from openclaw" })
  }, 60_000)
})
