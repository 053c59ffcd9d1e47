import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import type { ModelAgentSettings } from "../../src/config/agent.ts"
import * as AgentLanguageModel from "../../src/layers/AgentLanguageModel.ts"
import { Agent } from "../../src/services/Agent.ts"
import { type InvokeRequest, NodeRegistry, type NodeRegistryShape, type NodeView } from "../../src/services/NodeRegistry.ts"
import { fakeOpenAi, lastToolResult, textAnswer, toolCallAnswer } from "../helpers/fakeOpenAi.ts"
import { fakeTelegram } from "../helpers/fakeTelegram.ts"
import { memoryNode } from "../helpers/memoryNode.ts"
import { coreLayer, homeWithConfig } from "../helpers/testGateway.ts"

const KEY = "sk-test-0123456789abcdefghijklmnop"

const labNode: NodeView = {
  nodeId: "a1b2c3d4e5f6a7b8c9d0",
  displayName: "lab",
  platform: "linux",
  version: "1",
  caps: ["system"],
  commands: ["system.which", "system.run"],
  approvedCommands: ["system.which", "system.run"],
  invokableCommands: ["system.which"],
  connected: true,
  paired: true,
  remoteIp: "127.0.0.1",
  connectedAtMs: 0,
  pendingRequestId: undefined,
  reports: {}
}

// A NodeRegistry with one connected node whose system.which answers a path; every invoke is recorded.
const stubNodes = (invokes: Array<InvokeRequest>, answer: (r: InvokeRequest) => Effect.Effect<unknown> = () =>
  Effect.succeed({ ok: true, nodeId: labNode.nodeId, payload: { path: "/usr/bin/sh" } })) =>
  Layer.succeed(NodeRegistry, {
    list: Effect.succeed([labNode]),
    invoke: (r: InvokeRequest) => Effect.suspend(() => {
      invokes.push(r)
      return answer(r)
    })
  } as unknown as NodeRegistryShape)

const settings = (baseUrl: string, extra: Partial<ModelAgentSettings> = {}): ModelAgentSettings => ({
  provider: "openai",
  providerId: "test",
  baseUrl,
  model: "test-model-1",
  apiKey: Redacted.make(KEY),
  apiKeySource: "config",
  maxSteps: 3,
  timeoutMs: 60_000,
  toolTimeoutMs: 5_000,
  ...extra
})

const ask = (text: string) => Agent.use((a) => a.reply({ channel: "telegram", from: "111", text }))

describe("the model-backed agent", () => {
  it.live("sends the model the node tool, runs the tool call on the node, and answers with the model's final text", () =>
    Effect.gen(function*() {
      const invokes: Array<InvokeRequest> = []
      const server = yield* fakeOpenAi((req, i) =>
        i === 0 ? toolCallAnswer("node_invoke", { node: "lab", command: "system.which", params: { name: "sh" } }) : textAnswer(`sh is at ${lastToolResult(req)}`)
      )
      const reply = yield* ask("where is sh on lab?").pipe(Effect.provide(AgentLanguageModel.layer(settings(server.baseUrl)).pipe(Layer.provide(stubNodes(invokes)))))

      assert.strictEqual(server.requests.length, 2)
      const first = server.requests[0]!
      assert.strictEqual(first.authorization, `Bearer ${KEY}`)
      assert.strictEqual(first.body.model, "test-model-1")
      assert.deepStrictEqual(first.body.messages.at(-1), { role: "user", content: "where is sh on lab?" })
      assert.strictEqual(first.body.tools.length, 1)
      const tool = first.body.tools[0].function
      assert.strictEqual(tool.name, "node_invoke")
      assert.include(tool.description, "lab (id a1b2c3d4e5f6a7b8c9d0): system.which")
      assert.notInclude(tool.description, "system.run") // declared but not invokable: not offered
      assert.includeMembers(Object.keys(tool.parameters.properties), ["node", "command", "params"])

      assert.strictEqual(invokes.length, 1)
      assert.deepInclude(invokes[0]!, { caller: "agent:telegram:111", nodeId: labNode.nodeId, command: "system.which", params: { name: "sh" }, timeoutMs: 5_000 })
      const second = server.requests[1]!
      assert.deepInclude(second.body.messages.at(-2), { role: "assistant", content: null })
      assert.strictEqual(second.body.messages.at(-2).tool_calls[0].function.name, "node_invoke")
      assert.strictEqual(second.body.messages.at(-1).role, "tool")
      assert.strictEqual(second.body.messages.at(-1).tool_call_id, "call_1")
      assert.include(reply, "/usr/bin/sh")
      assert.match(reply, /^sh is at /)
    }).pipe(Effect.scoped))

  it.live("refuses, as a tool result, a command the node does not accept, without calling the node", () =>
    Effect.gen(function*() {
      const invokes: Array<InvokeRequest> = []
      const server = yield* fakeOpenAi((req, i) =>
        i === 0 ? toolCallAnswer("node_invoke", { node: "lab", command: "system.run", params: { command: ["id"] } }) : textAnswer(lastToolResult(req)!)
      )
      const reply = yield* ask("run id").pipe(Effect.provide(AgentLanguageModel.layer(settings(server.baseUrl)).pipe(Layer.provide(stubNodes(invokes)))))
      assert.strictEqual(invokes.length, 0)
      assert.include(reply, "system.run is not a command lab accepts; it accepts: system.which")
    }).pipe(Effect.scoped))

  it.live("ends after maxSteps when the model only ever calls tools", () =>
    Effect.gen(function*() {
      const invokes: Array<InvokeRequest> = []
      const server = yield* fakeOpenAi((_, i) => toolCallAnswer("node_invoke", { node: "lab", command: "system.which", params: { name: "sh" } }, `call_${i}`))
      const reply = yield* ask("loop forever").pipe(Effect.provide(AgentLanguageModel.layer(settings(server.baseUrl, { maxSteps: 3 })).pipe(Layer.provide(stubNodes(invokes)))))
      assert.strictEqual(server.requests.length, 3)
      assert.strictEqual(invokes.length, 3)
      assert.include(reply, "stopped after 3 model steps")
    }).pipe(Effect.scoped))

  it.live("stops reading an answer at its size cap: a server streaming without end is a readable refusal, and is hung up on", () =>
    Effect.gen(function*() {
      let sent = 0
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" })
          const chunk = Buffer.alloc(64 * 1024, 32)
          const pump = () => {
            while (sent < 64 * 1024 * 1024 && !res.destroyed) {
              sent += chunk.length
              if (!res.write(chunk)) return void res.once("drain", pump)
            }
            res.end()
          }
          pump()
        })
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
      )
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
      const reply = yield* ask("flood").pipe(Effect.provide(AgentLanguageModel.layer(settings(base)).pipe(Layer.provide(stubNodes([])))))
      assert.include(reply, "larger than")
      // It hung up early: far less than the 64 MiB the server had to offer was ever sent.
      assert.isBelow(sent, 16 * 1024 * 1024)
    }).pipe(Effect.scoped))

  it.live("turns a 500, garbage, a refused key and an unreachable endpoint into readable answers that never show the key", () =>
    Effect.gen(function*() {
      const answers = [
        { status: 500, body: { error: { message: "upstream exploded" } } },
        { body: "<html>this is not JSON</html>" },
        { body: { choices: "nope" } },
        { status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } }
      ]
      const server = yield* fakeOpenAi((_, i) => answers[i]!)
      const layer = AgentLanguageModel.layer(settings(server.baseUrl)).pipe(Layer.provide(stubNodes([])))
      const replies = yield* Effect.all([ask("a"), ask("b"), ask("c"), ask("d")]).pipe(Effect.provide(layer))
      assert.include(replies[0], "server error")
      assert.include(replies[1], "could not read")
      assert.include(replies[2], "could not read")
      assert.include(replies[3], "refused the API key")
      assert.include(replies[3], "GATEHOUSE_AGENT_API_KEY")
      for (const r of replies) assert.notInclude(r, KEY)

      const down = `http://127.0.0.1:${(yield* Effect.promise(() => import("../helpers/processes.ts").then((p) => p.freePort())))}/v1`
      const unreachable = yield* ask("e").pipe(Effect.provide(AgentLanguageModel.layer(settings(down)).pipe(Layer.provide(stubNodes([])))))
      assert.include(unreachable, "could not reach the model endpoint")
    }).pipe(Effect.scoped))

  it.effect("gives up on a model that never answers after agent.timeoutSeconds (moved by TestClock)", () =>
    Effect.gen(function*() {
      const server = yield* fakeOpenAi(() => "hold")
      const layer = AgentLanguageModel.layer(settings(server.baseUrl, { timeoutMs: 30_000 })).pipe(Layer.provide(stubNodes([])))
      const fiber = yield* ask("hello").pipe(Effect.provide(layer), Effect.forkChild)
      // Real I/O: wait (in real time) until the request has arrived, then move the test clock past the limit.
      yield* Effect.promise(async () => {
        for (let i = 0; i < 500 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      })
      assert.strictEqual(server.requests.length, 1)
      yield* TestClock.adjust("31 seconds")
      const reply = yield* Fiber.join(fiber)
      assert.include(reply, "did not finish within 30 s")
    }).pipe(Effect.scoped))

  it.effect("a node call that never answers ends at the per-call timeout, and the model gets told so (moved by TestClock)", () =>
    Effect.gen(function*() {
      const invokes: Array<InvokeRequest> = []
      const server = yield* fakeOpenAi((req, i) =>
        i === 0 ? toolCallAnswer("node_invoke", { node: "lab", command: "system.which", params: { name: "sh" } }) : textAnswer(lastToolResult(req)!)
      )
      const layer = AgentLanguageModel.layer(settings(server.baseUrl, { toolTimeoutMs: 5_000 })).pipe(Layer.provide(stubNodes(invokes, () => Effect.never)))
      const fiber = yield* ask("where is sh?").pipe(Effect.provide(layer), Effect.forkChild)
      yield* Effect.promise(async () => {
        for (let i = 0; i < 500 && invokes.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      })
      assert.strictEqual(invokes.length, 1)
      yield* TestClock.adjust("7 seconds")
      const reply = yield* Fiber.join(fiber)
      assert.include(reply, "system.which on lab did not answer within 5000 ms")
    }).pipe(Effect.scoped))

  it.live("chosen by agents.defaults.model in the gateway: a model failure is a readable Telegram reply, and the channel goes on to the node tool", () =>
    Effect.gen(function*() {
      const botToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
      const tg = yield* fakeTelegram(botToken)
      const server = yield* fakeOpenAi((req, i) =>
        i === 0
          ? { status: 500, body: { error: { message: "overloaded" } } }
          : lastToolResult(req) === undefined
          ? toolCallAnswer("node_invoke", { node: req.body.tools[0].function.description.match(/\(id ([0-9a-f]+)\)/)[1], command: "system.which", params: { name: "sh" } })
          : textAnswer(`found: ${lastToolResult(req)}`)
      )
      const env = homeWithConfig({
        channels: { telegram: { botToken, apiRoot: tg.apiRoot, allowFrom: [111], dmPolicy: "allowlist" } },
        models: { providers: { local: { baseUrl: server.baseUrl, apiKey: KEY, api: "openai-completions", models: [] } } },
        agents: { defaults: { model: { primary: "local/m" } } }
      })
      yield* Effect.gen(function*() {
        const node = yield* memoryNode()
        tg.deliver(111, "where is sh?")
        const first = yield* tg.sentCount(1)
        assert.include(first[0]!.text, "server error")
        tg.deliver(111, "where is sh, now?")
        const request = yield* node.nextInvoke
        assert.deepInclude(request.payload, { nodeId: node.nodeId, command: "system.which", paramsJSON: "{\"name\":\"sh\"}" })
        yield* node.answer(request.payload, { path: "/usr/bin/sh" })
        const second = yield* tg.sentCount(2)
        assert.include(second[1]!.text, "found: system.which on")
        assert.include(second[1]!.text, "/usr/bin/sh")
        for (const m of second) assert.notInclude(m.text, KEY)
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))
})
