import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { profilePort } from "../../src/config/paths.ts"
import { redactConfig } from "../../src/config/redact.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { tempHome } from "../helpers/testGateway.ts"

const withFile = (doc: unknown | string) => {
  const home = tempHome()
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), typeof doc === "string" ? doc : JSON.stringify(doc))
  return { HOME: home }
}

describe("GatewayConfig", () => {
  it.effect("defaults to loopback on 18789 with token auth under ~/.openclaw", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const { config, host } = yield* GatewayConfig.make({}, { HOME: home })
      assert.strictEqual(host, "127.0.0.1")
      assert.deepStrictEqual(config.port, { value: 18789, source: "default" })
      assert.strictEqual(config.authMode.value, "token")
      assert.strictEqual(config.paths.stateDir, join(home, ".openclaw"))
      assert.strictEqual(config.paths.configPath, join(home, ".openclaw", "openclaw.json"))
    }))

  it.effect("reads discovery.mdns.{mode,interfaces} as known keys; a wrong mode names the key path", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, withFile({ discovery: { mdns: { mode: "full", interfaces: ["eth0"] } } }))
      assert.deepStrictEqual(config.discovery.mdnsMode, { value: "full", source: "file" })
      assert.deepStrictEqual(config.discovery.interfaces, ["eth0"])
      assert.deepStrictEqual(config.file.unknownKeys, [])
      const error = yield* Effect.flip(GatewayConfig.make({}, withFile({ discovery: { mdns: { mode: "loud" } } })))
      assert.include(error.message, "discovery.mdns.mode")
      const bad = yield* Effect.flip(GatewayConfig.make({}, { HOME: tempHome(), OPENCLAW_SSH_PORT: "0" }))
      assert.include(bad.message, "OPENCLAW_SSH_PORT")
    }))

  it.effect("applies flag > env > file for the port and says where each value came from", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { port: 20001 } })
      assert.deepStrictEqual((yield* GatewayConfig.make({}, env)).config.port, { value: 20001, source: "file" })
      const withEnv = { ...env, OPENCLAW_GATEWAY_PORT: "20002" }
      assert.deepStrictEqual((yield* GatewayConfig.make({}, withEnv)).config.port, { value: 20002, source: "env" })
      assert.deepStrictEqual((yield* GatewayConfig.make({ port: 20003 }, withEnv)).config.port, { value: 20003, source: "flag" })
    }))

  it.effect("applies flag > env > file for the token, re-reading the file each time", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { auth: { token: "from-file" } } })
      const cfg = yield* GatewayConfig.make({}, env)
      assert.strictEqual(Redacted.value((yield* cfg.secrets).token!.value), "from-file")
      writeFileSync(join(env.HOME, ".openclaw", "openclaw.json"), JSON.stringify({ gateway: { auth: { token: "rotated" } } }))
      assert.strictEqual(Redacted.value((yield* cfg.secrets).token!.value), "rotated")
      const fromEnv = yield* GatewayConfig.make({}, { ...env, OPENCLAW_GATEWAY_TOKEN: "from-env" })
      assert.deepStrictEqual((yield* fromEnv.secrets).token!.source, "env")
      const fromFlag = yield* GatewayConfig.make({ token: Redacted.make("from-flag") }, { ...env, OPENCLAW_GATEWAY_TOKEN: "x" })
      assert.strictEqual(Redacted.value((yield* fromFlag.secrets).token!.value), "from-flag")
    }))

  it.effect("reports unknown keys instead of rejecting an OpenClaw config", () =>
    Effect.gen(function*() {
      const env = withFile({ agents: { defaults: { workspace: "~/work" } }, gateway: { port: 20010, reload: { mode: "hot" } } })
      const { config } = yield* GatewayConfig.make({}, env)
      assert.deepStrictEqual([...config.file.unknownKeys].sort(), ["agents.defaults.workspace", "gateway.reload"])
      assert.strictEqual(config.port.value, 20010)
    }))

  it.effect("names the file, the key path and the expectation for a wrongly typed value", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { port: "eighteen", bind: "everywhere" } })
      const error = yield* Effect.flip(GatewayConfig.make({}, env))
      assert.strictEqual(error.reason, "invalid")
      assert.include(error.message, join(env.HOME, ".openclaw", "openclaw.json"))
      assert.include(error.message, "gateway.port: Expected number")
      assert.include(error.message, "gateway.bind: Expected \"loopback\"")
    }))

  it.effect("reads openclaw.json as JSON5, as OpenClaw does: comments, trailing commas, unquoted keys", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({}, withFile(`// my gateway
{
  gateway: {
    port: 18800, /* not the default */
    trustedProxies: ['10.0.0.1',],
  },
  "__proto__": { polluted: true },
}
`))
      assert.strictEqual(config.port.value, 18800)
      assert.deepStrictEqual(config.trustedProxies, ["10.0.0.1"])
      assert.isUndefined(({} as { polluted?: unknown }).polluted)
    }))

  it.effect("says a non-JSON file is malformed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(GatewayConfig.make({}, withFile("{ gateway: ")))
      assert.strictEqual(error.reason, "malformed")
      assert.include(error.message, "is not valid JSON")
    }))

  it.effect("rejects a bad OPENCLAW_GATEWAY_PORT", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(GatewayConfig.make({}, { HOME: tempHome(), OPENCLAW_GATEWAY_PORT: "abc" }))
      assert.include(error.message, "OPENCLAW_GATEWAY_PORT")
    }))

  it.effect("gives --profile its own state dir and port, and --dev port 19001", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const work = yield* GatewayConfig.make({ profile: "work" }, { HOME: home })
      assert.strictEqual(work.config.paths.stateDir, join(home, ".openclaw-work"))
      assert.strictEqual(work.config.port.value, profilePort("work"))
      assert.notStrictEqual(work.config.port.value, 18789)
      const dev = yield* GatewayConfig.make({ dev: true }, { HOME: home })
      assert.strictEqual(dev.config.paths.stateDir, join(home, ".openclaw-dev"))
      assert.strictEqual(dev.config.port.value, 19001)
      const bad = yield* Effect.flip(GatewayConfig.make({ profile: "../etc" }, { HOME: home }))
      assert.include(bad.message, "invalid profile name")
    }))

  it.effect("refuses a custom bind host that is not an IP literal", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(GatewayConfig.make({ host: "127.evil.com" }, { HOME: tempHome() }))
      assert.include(error.message, "not an IP address literal")
    }))

  it.prop("profile ports stay in [20000, 60000)", [Schema_ProfileName()], ([name]) => {
    const port = profilePort(name)
    assert.isTrue(name === "dev" ? port === 19001 : port >= 20000 && port < 60000)
  })

  it("redacts every secret-named value at any depth, whole, and credentials in URLs", () => {
    const doc = {
      gateway: { auth: { token: "t0k", password: "p4ss" }, remote: { token: "r3m", url: "wss://user:hunter2@gw.example:443" } },
      models: [{ apiKey: "k3y" }],
      env: { vars: { AWS_SECRET_ACCESS_KEY: "aws5" } },
      headers: { Authorization: "Bearer b34r" },
      tokens: ["arr4y"],
      port: 1
    }
    const out = JSON.stringify(redactConfig(doc))
    for (const secret of ["t0k", "p4ss", "r3m", "hunter2", "k3y", "aws5", "b34r", "arr4y"]) assert.notInclude(out, secret)
    assert.include(out, "\"port\":1")
    assert.include(out, "gw.example")
  })
})

import * as Schema from "effect/Schema"
function Schema_ProfileName() {
  return Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,20}$/))
}
