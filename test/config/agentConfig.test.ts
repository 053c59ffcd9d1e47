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

const file = (agent: NonNullable<FileConfig["agent"]>): LoadedFile => ({ exists: true, document: { agent }, config: { agent }, unknownKeys: [] })

describe("agent.* config", () => {
  it.effect("is the rules agent when nothing names a model", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, { HOME: tempHome() })
      assert.deepStrictEqual(config.agent, { provider: "rules" })
    }))

  it.effect("reads the openai provider with OpenClaw's names, defaults, and the key as a Redacted", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, withFile({ agent: { provider: "openai", model: "gpt-4o-mini", apiKey: KEY } }))
      const a = config.agent
      assert.strictEqual(a.provider, "openai")
      if (a.provider !== "openai") return
      assert.deepInclude(a, { baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKeySource: "config", maxSteps: 6, timeoutMs: 120_000 })
      assert.strictEqual(Redacted.value(a.apiKey!), KEY)
      assert.notInclude(String(a.apiKey), KEY)
      assert.notInclude(JSON.stringify(a), KEY)
    }))

  it.effect("takes the environment over the file, and OPENAI_API_KEY only when nothing else names a key", () =>
    Effect.gen(function*() {
      const env = { GATEHOUSE_AGENT_PROVIDER: "openai", GATEHOUSE_AGENT_MODEL: "env-model", GATEHOUSE_AGENT_BASE_URL: "http://127.0.0.1:9/v1/", OPENAI_API_KEY: "sk-generic" }
      const a = (yield* GatewayConfig.make({}, withFile({ agent: { model: "file-model", apiKey: KEY } }, env))).config.agent
      assert.deepInclude(a, { provider: "openai", model: "env-model", baseUrl: "http://127.0.0.1:9/v1", apiKeySource: "config" })
      const b = (yield* GatewayConfig.make({}, withFile({ agent: { model: "m" } }, { ...env, GATEHOUSE_AGENT_API_KEY: "sk-specific" }))).config.agent
      assert.deepInclude(b, { apiKeySource: "GATEHOUSE_AGENT_API_KEY" })
      const c = (yield* GatewayConfig.make({}, withFile({ agent: { model: "m" } }, env))).config.agent
      assert.deepInclude(c, { apiKeySource: "OPENAI_API_KEY" })
    }))

  it.effect("refuses at start, with the fix: no model, a bad URL, credentials in the URL, a bad provider, out-of-range limits", () =>
    Effect.gen(function*() {
      const refused = (doc: unknown, env: Record<string, string> = {}) => Effect.flip(GatewayConfig.make({}, withFile(doc, env))).pipe(Effect.map((e) => e.message))
      assert.include(yield* refused({ agent: { provider: "openai" } }), "gatehouse config set agent.model")
      assert.include(yield* refused({ agent: { provider: "openai", model: "m", baseUrl: "ftp://x/v1" } }), "agent.baseUrl must be an http(s) URL")
      const withCreds = yield* refused({ agent: { provider: "openai", model: "m", baseUrl: `https://u:${KEY}@llm.example.com/v1` } })
      assert.include(withCreds, "must not carry credentials")
      assert.notInclude(withCreds, KEY)
      assert.include(yield* refused({}, { GATEHOUSE_AGENT_PROVIDER: "claude" }), "GATEHOUSE_AGENT_PROVIDER must be one of rules, openai")
      assert.include(yield* refused({ agent: { provider: "anthropic" } }), "agent.provider")
      assert.include(yield* refused({ agent: { provider: "openai", model: "m", maxSteps: 0 } }), "agent.maxSteps")
    }))

  it.prop(
    "plain http is refused to every host but loopback unless allowInsecureHttp; https always passes",
    [Octet, Octet, Octet, Octet, Schema.Boolean],
    ([a, b, c, d, allow]) => {
      const octets = [a, b, c, d]
      const host = octets.join(".")
      const loopback = octets[0] === 127
      const http = resolveAgent(file({ provider: "openai", model: "m", baseUrl: `http://${host}:8000/v1`, allowInsecureHttp: allow }), {}, "cfg")
      assert.strictEqual(typeof http === "string", !loopback && !allow, String(http))
      if (typeof http === "string") assert.include(http, "agent.allowInsecureHttp")
      const https = resolveAgent(file({ provider: "openai", model: "m", baseUrl: `https://${host}/v1` }), {}, "cfg")
      assert.notStrictEqual(typeof https, "string")
    },
    { arbitrary: { runs: 300 } }
  )

  it("accepts http to localhost and ::1, the usual local model servers", () => {
    for (const baseUrl of ["http://localhost:11434/v1", "http://[::1]:8080/v1", "http://127.0.0.1:1234/v1"]) {
      assert.notStrictEqual(typeof resolveAgent(file({ provider: "openai", model: "m", baseUrl }), {}, "cfg"), "string", baseUrl)
    }
  })

  it("redacts agent.apiKey in config documents (config.get, gatehouse config get)", () => {
    const shown = redactConfig({ agent: { provider: "openai", model: "m", apiKey: KEY } }) as { agent: Record<string, unknown> }
    assert.strictEqual(shown.agent.apiKey, REDACTED)
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
