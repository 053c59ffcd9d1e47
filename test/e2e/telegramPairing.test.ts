import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { startFakeTelegram } from "../helpers/fakeTelegram.ts"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"

// The daemon's Telegram channel under dmPolicy pairing, approved by `gatehouse pairing approve` in another process.
describe("telegram DM pairing across processes", () => {
  const botToken = "987654321:AAFakeTokenForThePairingDouble0000001"
  let daemon: Daemon
  let tg: Awaited<ReturnType<typeof startFakeTelegram>>
  let env: Record<string, string>

  beforeAll(async () => {
    tg = await startFakeTelegram(botToken)
    const port = await freePort()
    env = homeWithConfig({ channels: { telegram: { botToken, apiRoot: tg.apiRoot, allowFrom: [111], dmPolicy: "pairing" } } })
    daemon = await startDaemon(["gateway", "run", "--port", String(port), "--token", "pairing-e2e-token-0123456789"], env, /listening on ws:/)
  })

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
    await tg.close()
  })

  it("an unknown sender gets a code; gatehouse pairing approve lets them in at their next message", async () => {
    tg.deliver(222, "/status")
    const [first] = await Effect.runPromise(tg.sentCount(1))
    const code = /Pairing code: ([A-Z0-9]{8})/.exec(first!.text)?.[1]
    assert.isDefined(code, first!.text)
    const listed = await run(["pairing", "list", "--json"], env)
    assert.strictEqual(listed.code, 0, listed.stderr)
    assert.deepInclude(JSON.parse(listed.stdout).pending[0], { channel: "telegram", code, userId: "222" })
    const approved = await run(["pairing", "approve", "telegram", code!, "--json"], env)
    assert.strictEqual(approved.code, 0, approved.stdout + approved.stderr)
    assert.deepStrictEqual(JSON.parse(approved.stdout), { ok: true, channel: "telegram", userId: "222", chatId: "222" })
    const again = await run(["pairing", "approve", "telegram", code!, "--json"], env)
    assert.strictEqual(again.code, 1)
    assert.strictEqual(JSON.parse(again.stdout).error.code, "CODE_UNKNOWN")
    tg.deliver(222, "/status")
    const sent = await Effect.runPromise(tg.sentCount(2))
    assert.match(sent[1]!.text, /gatehouse \S+, up \d+ s/)
  }, 60_000)
})
