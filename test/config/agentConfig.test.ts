import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { resolveAgent } from "../../src/config/agent.ts"
import type { LoadedFile } from "../../src/config/file.ts"
import { REDACTED, redactConfig } from "../../src/config/redact.ts"
import type { FileConfig } from "../../src/config/schema.ts"
import { describeNodes, MAX_DESCRIPTION_CHARS } from "../../src/layers/AgentLanguageModel.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import type { NodeView } from "../../src/services/NodeRegistry.ts"
import { tempHome } from "../helpers/testGateway.ts"

const KEY = "sk-config-test-0123456789abcdefghij"

const withFile = (doc: unknown, env: Record<string, string> = {}) => {
  const home = tempHome()
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return { HOME: home, ...env }
}

const Octet = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))

const file = (config: FileConfig): LoadedFile => ({ exists: true, document: config, config, unknownKeys: [] })
const lan = (baseUrl: string): FileConfig => ({ models: { providers: { lan: { baseUrl, api: "openai-completions" } } }, agents: { defaults: { model: "lan/m" } } })

describe("the agent's config (OpenClaw's agents.defaults.model and models.providers)", () => {
  it.effect("is the rules agent when no model is named", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, { HOME: tempHome() })
      assert.deepStrictEqual(config.agent, { provider: "rules" })
    }))

  it.effect("reads a custom provider as OpenClaw writes it, with the key as a Redacted, and the timeout", () =>
    Effect.gen(function*() {
      const doc = {
        models: { mode: "merge", providers: { local: { baseUrl: "http://127.0.0.1:4000/v1/", apiKey: KEY, api: "openai-completions", models: [{ id: "llama", name: "Llama" }] } } },
        agents: { defaults: { model: { primary: "local/meta/llama-3.1", fallbacks: [] }, timeoutSeconds: 90 } }
      }
      const { config } = yield* GatewayConfig.make({}, withFile(doc))
      const a = config.agent
      assert.strictEqual(a.provider, "openai")
      if (a.provider !== "openai") return
      assert.deepInclude(a, { providerId: "local", baseUrl: "http://127.0.0.1:4000/v1", model: "meta/llama-3.1", apiKeySource: "config", maxSteps: 6, timeoutMs: 90_000 })
      assert.strictEqual(Redacted.value(a.apiKey!), KEY)
      assert.notInclude(String(a.apiKey), KEY)
      assert.notInclude(JSON.stringify(a), KEY)
    }))

  it.effect("OpenClaw's built-in openai provider needs no entry; OPENAI_API_KEY is its key; ${VAR} in apiKey reads the environment", () =>
    Effect.gen(function*() {
      const a = (yield* GatewayConfig.make({}, withFile({ agents: { defaults: { model: "openai/gpt-4o-mini" } } }, { OPENAI_API_KEY: "sk-generic" }))).config.agent
      assert.deepInclude(a, { provider: "openai", providerId: "openai", baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKeySource: "OPENAI_API_KEY" })
      const b = (yield* GatewayConfig.make({}, withFile({ ...lan("https://llm.example/v1"), models: { providers: { lan: { baseUrl: "https://llm.example/v1", apiKey: "${LAN_KEY}" } } } }, { LAN_KEY: "sk-lan", OPENAI_API_KEY: "sk-generic" }))).config.agent
      assert.deepInclude(b, { apiKeySource: "config" })
      if (b.provider === "openai") assert.strictEqual(Redacted.value(b.apiKey!), "sk-lan")
      const c = (yield* GatewayConfig.make({}, withFile(lan("https://llm.example/v1"), { OPENAI_API_KEY: "sk-generic" }))).config.agent
      assert.deepInclude(c, { apiKeySource: "none" }) // OPENAI_API_KEY is not sent to another provider
    }))

  it.effect("takes the environment over the file", () =>
    Effect.gen(function*() {
      const env = { GATEHOUSE_AGENT_MODEL: "env-model", GATEHOUSE_AGENT_BASE_URL: "http://127.0.0.1:9/v1/", GATEHOUSE_AGENT_API_KEY: "sk-specific" }
      const a = (yield* GatewayConfig.make({}, withFile(lan("https://llm.example/v1"), env))).config.agent
      assert.deepInclude(a, { provider: "openai", model: "env-model", baseUrl: "http://127.0.0.1:9/v1", apiKeySource: "GATEHOUSE_AGENT_API_KEY" })
      const rules = (yield* GatewayConfig.make({}, withFile(lan("https://llm.example/v1"), { GATEHOUSE_AGENT_MODEL: "rules" }))).config.agent
      assert.deepStrictEqual(rules, { provider: "rules" })
    }))

  it.effect("keeps the rules agent, saying why, for a model gatehouse cannot speak to", () =>
    Effect.gen(function*() {
      const anthropic = (yield* GatewayConfig.make({}, withFile({ agents: { defaults: { model: "anthropic/claude-opus-4-6" } } }))).config.agent
      assert.strictEqual(anthropic.provider, "rules")
      if (anthropic.provider === "rules") assert.include(anthropic.note, "models.providers.anthropic.baseUrl")
      const messages = (yield* GatewayConfig.make({}, withFile({ models: { providers: { x: { baseUrl: "https://x.example/v1", api: "anthropic-messages" } } }, agents: { defaults: { model: "x/m" } } }))).config.agent
      assert.strictEqual(messages.provider, "rules")
      if (messages.provider === "rules") assert.include(messages.note, "openai-completions")
    }))

  it.effect("refuses at start, with the fix: a bad URL, credentials in the URL, a bad model shape, an out-of-range timeout", () =>
    Effect.gen(function*() {
      const refused = (doc: unknown, env: Record<string, string> = {}) => Effect.flip(GatewayConfig.make({}, withFile(doc, env))).pipe(Effect.map((e) => e.message))
      assert.include(yield* refused(lan("ftp://x/v1")), "must be an http(s) URL")
      const withCreds = yield* refused(lan(`https://u:${KEY}@llm.example.com/v1`))
      assert.include(withCreds, "must not carry credentials")
      assert.notInclude(withCreds, KEY)
      assert.include(yield* refused({ agents: { defaults: { model: { primary: 42 } } } }), "agents.defaults.model")
      assert.include(yield* refused({ agents: { defaults: { model: "openai/" } } }), "<provider>/<model>")
      assert.include(yield* refused({ agents: { defaults: { model: "openai/m", timeoutSeconds: 0 } } }), "agents.defaults.timeoutSeconds")
    }))

  it.prop(
    "plain http is refused to every host but loopback unless GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP=1; https always passes",
    [Octet, Octet, Octet, Octet, Schema.Boolean],
    ([a, b, c, d, allow]) => {
      const octets = [a, b, c, d]
      const host = octets.join(".")
      const loopback = octets[0] === 127
      const env = allow ? { GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP: "1" } : {}
      const http = resolveAgent(file(lan(`http://${host}:8000/v1`)), env, "cfg")
      assert.strictEqual(typeof http === "string", !loopback && !allow, String(http))
      if (typeof http === "string") assert.include(http, "GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP=1")
      const https = resolveAgent(file(lan(`https://${host}/v1`)), {}, "cfg")
      assert.notStrictEqual(typeof https, "string")
    },
    { arbitrary: { runs: 300 } }
  )

  it("accepts http to localhost and ::1, the usual local model servers", () => {
    for (const baseUrl of ["http://localhost:11434/v1", "http://[::1]:8080/v1", "http://127.0.0.1:1234/v1"]) {
      assert.strictEqual((resolveAgent(file(lan(baseUrl)), {}, "cfg") as { provider: string }).provider, "openai", baseUrl)
    }
  })

  it("redacts the provider's apiKey in config documents (config.get, gatehouse config get)", () => {
    const shown = redactConfig({ models: { providers: { lan: { baseUrl: "https://x/v1", apiKey: KEY } } } }) as { models: { providers: { lan: Record<string, unknown> } } }
    assert.strictEqual(shown.models.providers.lan.apiKey, REDACTED)
    assert.notInclude(JSON.stringify(shown), KEY)
  })

  it.prop(
    "the node tool's description stays bounded however many nodes and commands there are",
    [Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 200 })), Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 300 }))],
    ([nodeCount, commandCount]) => {
      const nodes = Array.from({ length: nodeCount }, (_, i): NodeView => ({
        nodeId: `node-${i}-${"x".repeat(40)}`,
        displayName: `name-${i}-${"\u001b[31m".repeat(3)}`,
        platform: "linux",
        version: "1",
        caps: [],
        commands: [],
        approvedCommands: [],
        invokableCommands: Array.from({ length: commandCount }, (_, j) => `custom.command.${j}`),
        connected: true,
        paired: true,
        remoteIp: undefined,
        connectedAtMs: 0,
        pendingRequestId: undefined,
        reports: {}
      }))
      const d = describeNodes(nodes)
      assert.isAtMost(d.length, MAX_DESCRIPTION_CHARS)
      assert.notInclude(d, "\u001b")
    },
    { arbitrary: { runs: 100 } }
  )
})
