import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { lastToolResult, startFakeOpenAi, textAnswer, toolCallAnswer } from "../helpers/fakeOpenAi.ts"
import { startFakeTelegram } from "../helpers/fakeTelegram.ts"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"

// The whole flow with the model-backed agent: a Telegram message, the model asks for a
// node tool, a real node host (`gatehouse node run`) answers, the model's answer reaches
// sendMessage. The daemon is dist/gatehouse.mjs: run `npm run build` after changing src.
describe("the model-backed agent, end to end: fake Telegram → model tool call → node host → sendMessage", () => {
  const token = "agent-model-e2e-token-7c41"
  const botToken = "987654321:AAFakeTokenForTheModelAgentE2eTest0001"
  const apiKey = "sk-e2e-model-key-0123456789abcdefghij"
  let port = 0
  let gateway: Daemon
  let node: Daemon
  let tg: Awaited<ReturnType<typeof startFakeTelegram>>
  let model: Awaited<ReturnType<typeof startFakeOpenAi>>
  let env: Record<string, string>

  beforeAll(async () => {
    tg = await startFakeTelegram(botToken)
    model = await startFakeOpenAi((req) =>
      lastToolResult(req) === undefined
        ? toolCallAnswer("node_invoke", { node: "e2e-node", command: "system.which", params: { name: "sh" } })
        : textAnswer(`The node says: ${lastToolResult(req)}`)
    )
    port = await freePort()
    env = homeWithConfig({
      gateway: { auth: { token } },
      channels: { telegram: { botToken, apiRoot: tg.apiRoot, allowFrom: [111], dmPolicy: "allowlist" } },
      models: { providers: { e2e: { baseUrl: model.baseUrl, apiKey, api: "openai-completions", models: [{ id: "e2e-model", name: "e2e-model" }] } } },
      agents: { defaults: { model: { primary: "e2e/e2e-model" } } }
    })
    gateway = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
    node = await startDaemon(["node", "run", "--display-name", "e2e-node"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) }, /node connected/)
    // The node's command surface is approved just after it connects (loopback): wait until system.which is invokable.
    for (let i = 0; i < 100; i++) {
      const listed = await run(["nodes", "list", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
      const nodes = listed.code === 0 ? JSON.parse(listed.stdout).nodes as Array<{ displayName?: string; invokableCommands: Array<string> }> : []
      if (nodes.some((n) => n.displayName === "e2e-node" && n.invokableCommands.includes("system.which"))) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }, 60_000)

  afterAll(async () => {
    for (const d of [node, gateway]) {
      if (d === undefined) continue
      if (d.child.exitCode === null) d.child.kill("SIGTERM")
      await d.exited
    }
    await tg?.close()
    await model?.close()
  })

  it("answers a Telegram question with the path the node host found, through the model's tool call", async () => {
    tg.deliver(111, "where is sh on e2e-node?")
    const sent = await Effect.runPromise(tg.sentCount(1))
    assert.strictEqual(sent[0]!.chat_id, 111)
    assert.match(sent[0]!.text, /^The node says: system\.which on e2e-node:\n[\s\S]*"path": "\/\S*\/sh"/)

    assert.strictEqual(model.requests.length, 2)
    const first = model.requests[0]!
    assert.strictEqual(first.authorization, `Bearer ${apiKey}`)
    assert.strictEqual(first.body.model, "e2e-model")
    assert.strictEqual(first.body.tools[0].function.name, "node_invoke")
    assert.match(first.body.tools[0].function.description, /e2e-node \(id [0-9a-f]+\): .*system\.which/)
  }, 60_000)

  it("shows the key nowhere: config get, config show, the gateway's output", async () => {
    const cli = (...args: Array<string>) => run(args, { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    const got = await cli("config", "get", "models.providers.e2e", "--json")
    assert.strictEqual(got.code, 0, got.stderr)
    assert.strictEqual(JSON.parse(got.stdout).value.apiKey, "__OPENCLAW_REDACTED__")
    const shown = await cli("config", "show", "--json")
    assert.strictEqual(shown.code, 0, shown.stderr)
    assert.deepInclude(JSON.parse(shown.stdout).agent, { provider: "openai", providerId: "e2e", model: "e2e-model", apiKey: { set: true, source: "config" } })
    for (const text of [got.stdout, got.stderr, shown.stdout, shown.stderr, gateway.output()]) assert.notInclude(text, apiKey)
  }, 60_000)
})
