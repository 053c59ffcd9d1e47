import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { type Browser, chromium, type Page } from "playwright-core"
import { WebSocketServer } from "ws"
import { loadControlUi, lookupAsset } from "../../src/http/controlUi.ts"
import { verifyDeviceProof } from "../../src/protocol/deviceAuth.ts"
import { freePort } from "../helpers/processes.ts"

// The Control UI's WebChat and live-log panels against a stand-in gateway that answers `chat.send`,
// `chat.history`, `chat` events and `logs.tail` in OpenClaw's wire shapes, so the page's side of those
// methods is checked before the gateway's own implementations land. The stand-in also checks the
// browser's device signature with the gateway's verifier.
const CHROMIUM = "/usr/bin/chromium"
const available = existsSync(CHROMIUM)
if (!available) {
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the Control UI browser test`)
  console.log(`skipping the Control UI shape test: ${CHROMIUM} is missing (apt-get install chromium)`)
}

type Frame = { type: string; id: string; method: string; params: Record<string, any> }

describe.runIf(available)("the Control UI's WebChat and live log, in OpenClaw's shapes", () => {
  const received: Array<Frame> = []
  let server: Server
  let port = 0
  let browser: Browser
  let page: Page
  let signature: string | undefined = "not checked"

  beforeAll(async () => {
    const ui = loadControlUi()
    server = createServer((req, res) => {
      const asset = lookupAsset(ui, req.url)
      if (asset === undefined) return res.writeHead(404).end()
      res.writeHead(200, { "content-type": asset.contentType }).end(asset.body)
    })
    const wss = new WebSocketServer({ server })
    let logCalls = 0
    wss.on("connection", (ws) => {
      const nonce = crypto.randomUUID()
      const ts = Date.now()
      const send = (frame: unknown) => ws.send(JSON.stringify(frame))
      const ok = (id: string, payload: unknown) => send({ type: "res", id, ok: true, payload })
      send({ type: "event", event: "connect.challenge", payload: { nonce, ts } })
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as Frame
        received.push(frame)
        const p = frame.params
        switch (frame.method) {
          case "connect":
            signature = verifyDeviceProof(p.device, {
              clientId: p.client.id, clientMode: p.client.mode, role: p.role, scopes: p.scopes,
              token: p.auth?.token ?? p.auth?.deviceToken ?? "", platform: p.client.platform, deviceFamily: p.client.deviceFamily
            }, nonce, Date.now())
            return ok(frame.id, {
              type: "hello-ok", protocol: 4, server: { version: "stand-in", connId: "c1" },
              features: { methods: ["health", "system-presence", "node.list", "device.pair.list", "channels.status", "chat.send", "chat.history", "logs.tail"], events: ["chat"] },
              snapshot: { presence: [], health: { ok: true }, stateVersion: { presence: 0, health: 0 }, uptimeMs: 1 },
              auth: { method: "token", role: "operator", scopes: p.scopes },
              policy: { maxPayload: 1 << 20, maxBufferedBytes: 1 << 20, tickIntervalMs: 30_000 }
            })
          case "health":
            return ok(frame.id, { ok: true, ts: Date.now() })
          case "system-presence":
            return ok(frame.id, [])
          case "node.list":
            return ok(frame.id, { ts: Date.now(), nodes: [] })
          case "device.pair.list":
            return ok(frame.id, { pending: [], paired: [] })
          case "channels.status":
            return ok(frame.id, { ts: Date.now(), channelOrder: ["telegram"], channelLabels: { telegram: "Telegram" }, channels: {}, channelAccounts: { telegram: [{ accountId: "default", enabled: true, configured: true, running: true }] }, channelDefaultAccountId: { telegram: "default" } })
          case "chat.history":
            return ok(frame.id, {
              sessionKey: p.sessionKey, sessionId: "s1",
              messages: [
                { role: "user", content: [{ type: "text", text: "earlier question" }], timestamp: 1 },
                { role: "assistant", content: [{ type: "text", text: "earlier answer" }], timestamp: 2 }
              ]
            })
          case "chat.send": {
            const runId = `run-${received.length}`
            ok(frame.id, { runId, status: "started" })
            const event = (seq: number, state: string, text?: string) =>
              send({ type: "event", event: "chat", seq, payload: { runId, sessionKey: p.sessionKey, seq, state, ...(text === undefined ? {} : { message: { role: "assistant", content: [{ type: "text", text }], timestamp: Date.now() } }) } })
            event(1, "delta", "echo:")
            event(2, "final", `echo: ${p.message}`)
            return
          }
          case "logs.tail":
            logCalls++
            return ok(frame.id, { file: "/var/log/gatehouse.log", cursor: logCalls * 100, size: logCalls * 100, lines: logCalls === 1 ? ["first log line", "second log line"] : [], truncated: false, reset: false })
          default:
            return send({ type: "res", id: frame.id, ok: false, error: { code: "INVALID_REQUEST", message: `unknown method: ${frame.method}` } })
        }
      })
    })
    port = await freePort()
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] })
    page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/#token=stand-in-token`)
    await page.locator("#conn[data-state=connected]").waitFor({ timeout: 20_000 })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    server?.closeAllConnections()
    server?.close()
  })

  it("connects as OpenClaw's Control UI does, with a signature the gateway's verifier accepts", () => {
    const connect = received.find((f) => f.method === "connect")!
    assert.strictEqual(signature, undefined)
    assert.deepInclude(connect.params.client, { id: "openclaw-control-ui", mode: "webchat" })
    assert.strictEqual(connect.params.role, "operator")
    assert.deepStrictEqual(connect.params.auth, { token: "stand-in-token" })
  })

  it("shows chat.history, sends with chat.send and renders the reply from chat events", async () => {
    await page.locator("#chat-log .msg.assistant").getByText("earlier answer").waitFor()
    await page.locator("#chat-input").fill("hello there")
    await page.locator("#chat-send").click()
    const reply = page.locator("#chat-log .msg.assistant[data-state=final]")
    await reply.waitFor({ timeout: 10_000 })
    assert.strictEqual(await reply.textContent(), "echo: hello there")
    assert.strictEqual(await page.locator("#chat-log .msg.assistant").filter({ hasText: "…" }).count(), 0)
    const sent = received.find((f) => f.method === "chat.send")!
    assert.strictEqual(sent.params.message, "hello there")
    assert.strictEqual(sent.params.sessionKey, "main")
    assert.isString(sent.params.idempotencyKey)
    assert.strictEqual(received.find((f) => f.method === "chat.history")!.params.sessionKey, "main")
  })

  it("tails the log with logs.tail, passing the cursor back", async () => {
    await page.locator("#logs").getByText("second log line").waitFor({ timeout: 10_000 })
    const deadline = Date.now() + 10_000
    while (received.filter((f) => f.method === "logs.tail").length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    const calls = received.filter((f) => f.method === "logs.tail")
    assert.isUndefined(calls[0]!.params.cursor)
    assert.strictEqual(calls[1]!.params.cursor, 100)
  })

  it("shows channel accounts from channels.status", async () => {
    await page.locator("#channels").getByText("Telegram").waitFor()
    assert.include(await page.locator("#channels").textContent(), "running")
  })
})
