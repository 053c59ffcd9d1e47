/**
 * `gatehouse security audit`: each risky setting is found with its fix; a default
 * config (fresh, and after the gateway's first start) reports nothing critical;
 * `--fix` changes only file modes and says so; `--json` is one JSON document.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { audit, type AuditInput, MIN_SECRET_LENGTH } from "../../src/config/audit.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { freePort, run, startDaemon } from "../helpers/processes.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const homeWith = (doc: unknown) => {
  const home = tempDir("gatehouse-audit-")
  const stateDir = join(home, ".openclaw")
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(doc), { mode: 0o600 })
  return { HOME: home, OPENCLAW_STATE_DIR: stateDir }
}

// The audit of a config document, with a long token, tidy files and no SSH server unless told.
const auditOf = (doc: unknown, input: Partial<Omit<AuditInput, "config" | "host">> = {}) =>
  Effect.gen(function*() {
    const { config, host } = yield* GatewayConfig.make({ port: 0 }, homeWith(doc))
    return audit({ config, host, tokenLength: 48, passwordLength: undefined, paths: [], sshListening: false, ...input })
  })

const ids = (findings: ReadonlyArray<{ id: string }>) => findings.map((f) => f.id)

describe("security audit checks", () => {
  it.effect("a model agent over plain http to another host (allowed by GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP) warns; https or loopback does not", () =>
    Effect.gen(function*() {
      const auditAgent = (baseUrl: string) =>
        Effect.gen(function*() {
          const doc = { models: { providers: { lan: { baseUrl } } }, agents: { defaults: { model: "lan/m" } } }
          const { config, host } = yield* GatewayConfig.make({ port: 0 }, { ...homeWith(doc), GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP: "1" })
          return audit({ config, host, tokenLength: 48, passwordLength: undefined, paths: [], sshListening: false })
        })
      const plain = yield* auditAgent("http://192.0.2.7:8000/v1")
      assert.deepStrictEqual(plain.map((f) => [f.id, f.severity]), [["agent.insecure-http", "warn"]])
      assert.include(plain[0]!.fix, "https:// models.providers.lan.baseUrl")
      assert.deepStrictEqual(yield* auditAgent("https://192.0.2.7/v1"), [])
      assert.deepStrictEqual(yield* auditAgent("http://127.0.0.1:11434/v1"), [])
    }))

  it.effect("a default config reports nothing", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* auditOf({}), [])
    }))

  it.effect("trusted-proxy without allowUsers warns; Tailscale identity is noted", () =>
    Effect.gen(function*() {
      const proxy = { trustedProxies: ["10.0.0.2"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } }
      assert.deepStrictEqual((yield* auditOf({ gateway: proxy })).map((f) => [f.id, f.severity]), [["auth.trusted-proxy-any-user", "warn"]])
      const limited = { ...proxy, auth: { ...proxy.auth, trustedProxy: { userHeader: "x-forwarded-user", allowUsers: ["alice@example.com"] } } }
      assert.deepStrictEqual(yield* auditOf({ gateway: limited }), [])
      assert.deepStrictEqual(ids(yield* auditOf({ gateway: { auth: { allowTailscale: true } } })), ["auth.tailscale-identity"])
    }))

  it.effect("a non-loopback bind without TLS is critical; with TLS it is not", () =>
    Effect.gen(function*() {
      const plain = yield* auditOf({ gateway: { bind: "custom", customBindHost: "192.0.2.10", controlUi: { allowedOrigins: ["https://ui.example"] } } })
      assert.deepStrictEqual(plain.map((f) => [f.id, f.severity]), [["bind.no-tls", "critical"]])
      assert.include(plain[0]!.fix, "gateway.tls.enabled")
      const tls = yield* auditOf({ gateway: { bind: "custom", customBindHost: "192.0.2.10", tls: { enabled: true }, controlUi: { allowedOrigins: ["https://ui.example"] } } })
      assert.deepStrictEqual(tls, [])
    }))

  it.effect("budgets raised far past their defaults warn on an exposed gateway, naming each key and its default", () =>
    Effect.gen(function*() {
      const exposed = { bind: "custom", customBindHost: "192.0.2.10", tls: { enabled: true }, controlUi: { allowedOrigins: ["https://ui.example"] } }
      const raised = yield* auditOf({ gateway: { ...exposed, limits: { maxConnectionsPerAddress: 10_000, maxPendingPairings: 256 } } })
      assert.deepStrictEqual(raised.map((f) => [f.id, f.severity]), [["limits.raised", "warn"]])
      assert.include(raised[0]!.message, "gateway.limits.maxConnectionsPerAddress")
      assert.notInclude(raised[0]!.message, "maxPendingPairings")
      assert.include(raised[0]!.fix, "default 128")
      assert.deepStrictEqual(yield* auditOf({ gateway: { limits: { maxConnectionsPerAddress: 10_000 } } }), [])
    }))

  it.effect("OTLP export over plain http to another host warns; https or a loopback collector does not", () =>
    Effect.gen(function*() {
      const remote = yield* auditOf({ diagnostics: { otel: { endpoint: "http://collector.example:4318", headers: { "x-api-key": "k" } } } })
      assert.deepStrictEqual(remote.map((f) => [f.id, f.severity]), [["otel.plain-http", "warn"]])
      assert.include(remote[0]!.message, "headers")
      assert.notInclude(JSON.stringify(remote), "\"k\"")
      assert.deepStrictEqual(yield* auditOf({ diagnostics: { otel: { endpoint: "https://collector.example:4318" } } }), [])
      assert.deepStrictEqual(yield* auditOf({ diagnostics: { otel: { endpoint: "http://127.0.0.1:4318" } } }), [])
      assert.deepStrictEqual(yield* auditOf({ diagnostics: { otel: { endpoint: "http://[::1]:4318" } } }), [])
      assert.deepStrictEqual(yield* auditOf({ diagnostics: { otel: { endpoint: "http://collector.example:4318", enabled: false } } }), [])
    }))

  it.effect("origins: none listed on an exposed gateway warns, \"*\" is critical when exposed", () =>
    Effect.gen(function*() {
      const none = yield* auditOf({ gateway: { bind: "custom", customBindHost: "192.0.2.10", tls: { enabled: true } } })
      assert.deepStrictEqual(ids(none), ["origins.none"])
      const star = yield* auditOf({ gateway: { bind: "custom", customBindHost: "192.0.2.10", tls: { enabled: true }, controlUi: { allowedOrigins: ["*"] } } })
      assert.deepStrictEqual(star.map((f) => [f.id, f.severity]), [["origins.wildcard", "critical"]])
    }))

  it.effect("short secrets are flagged, critical when they guard an exposed gateway", () =>
    Effect.gen(function*() {
      const local = yield* auditOf({}, { tokenLength: 8 })
      assert.deepStrictEqual(local.map((f) => [f.id, f.severity]), [["secret.short-token", "warn"]])
      const exposed = yield* auditOf(
        { gateway: { bind: "custom", customBindHost: "192.0.2.10", tls: { enabled: true }, controlUi: { allowedOrigins: ["https://ui.example"] }, auth: { mode: "password" } } },
        { passwordLength: MIN_SECRET_LENGTH - 1 }
      )
      assert.deepStrictEqual(exposed.map((f) => [f.id, f.severity]), [["secret.short-password", "critical"]])
      assert.deepStrictEqual(yield* auditOf({}, { tokenLength: MIN_SECRET_LENGTH }), [])
    }))

  it.effect("state files open to other users are flagged with chmod fixes; missing ones are not", () =>
    Effect.gen(function*() {
      const findings = yield* auditOf({}, {
        paths: [
          { path: "/s", what: "the state directory", kind: "dir", mode: 0o755 },
          { path: "/s/gateway.token", what: "the gateway token", kind: "file", mode: 0o640 },
          { path: "/s/tls/gateway-key.pem", what: "the TLS private key", kind: "file", mode: 0o600 },
          { path: "/s/tls-pins.json", what: "the TLS pins", kind: "file", mode: undefined }
        ]
      })
      assert.deepStrictEqual(findings.map((f) => [f.id, f.severity, f.autoFix]), [
        ["file.world-accessible", "critical", { path: "/s", mode: 0o700 }],
        ["file.group-accessible", "warn", { path: "/s/gateway.token", mode: 0o600 }]
      ])
    }))

  it.effect("mDNS full mode, dangerous node commands, code-running programs and auto-approval with SSH are flagged", () =>
    Effect.gen(function*() {
      const findings = yield* auditOf({
        discovery: { mdns: { mode: "full" } },
        gateway: { nodes: { allowCommands: ["system.run", "camera.snap", "system.which"] } },
        node: { run: { allow: ["/usr/bin/python3", "ls"] } }
      }, { sshListening: true })
      assert.sameMembers(ids(findings), ["mdns.full", "nodes.dangerous-commands", "node.run.code-runners", "pairing.auto-approve-local-ssh"])
      const nodes = findings.find((f) => f.id === "nodes.dangerous-commands")!
      assert.include(nodes.message, "system.run, camera.snap")
      assert.notInclude(nodes.message, "system.which")
      assert.deepStrictEqual(yield* auditOf({ gateway: { pairing: { autoApproveLocal: false } } }, { sshListening: true }), [])
    }))

  it.effect("the code-runner list is the node host's own (versioned interpreters, podman, systemd-run, sed)", () =>
    Effect.gen(function*() {
      for (const program of ["python3.12", "/usr/bin/nodejs", "mawk", "lua5.4", "podman", "systemd-run", "sed", "npx"]) {
        const findings = yield* auditOf({ gateway: { pairing: { autoApproveLocal: false } }, node: { run: { allow: [program, "ls"] } } })
        assert.deepStrictEqual(ids(findings), ["node.run.code-runners"], program)
      }
    }))

  it.effect("auth mode none on loopback warns, and is critical with an SSH server or a browser origin", () =>
    Effect.gen(function*() {
      const quiet = { pairing: { autoApproveLocal: false } }
      const none = yield* auditOf({ gateway: { ...quiet, auth: { mode: "none" } } })
      assert.deepStrictEqual(none.map((f) => [f.id, f.severity]), [["auth.none-loopback", "warn"]])
      const ssh = yield* auditOf({ gateway: { ...quiet, auth: { mode: "none" } } }, { sshListening: true })
      assert.deepStrictEqual(ssh.map((f) => [f.id, f.severity]), [["auth.none-loopback", "critical"]])
      const star = yield* auditOf({ gateway: { ...quiet, auth: { mode: "none" }, controlUi: { allowedOrigins: ["*"] } } })
      assert.deepStrictEqual(star.map((f) => [f.id, f.severity]), [["auth.none-loopback", "critical"], ["origins.wildcard", "critical"]])
    }))

  it.effect("trusted proxies that cover everyone are flagged; a proxy's own address is not", () =>
    Effect.gen(function*() {
      for (const broad of ["0.0.0.0/0", "::/0", "0.0.0.0/1"]) {
        assert.deepStrictEqual(ids(yield* auditOf({ gateway: { trustedProxies: [broad] } })), ["proxies.too-broad"], broad)
      }
      assert.deepStrictEqual(yield* auditOf({ gateway: { trustedProxies: ["127.0.0.1", "10.0.0.0/24"] } }), [])
    }))
})

describe("gatehouse security audit", () => {
  it("after a default gateway's first start: nothing critical, one JSON document", async () => {
    const env = homeWith({})
    const gateway = await startDaemon(["gateway", "run", "--port", String(await freePort())], env, /listening on ws:/)
    gateway.child.kill("SIGTERM")
    await gateway.exited
    const r = await run(["security", "audit", "--json"], env)
    assert.strictEqual(r.code, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.strictEqual(doc.ok, true)
    assert.strictEqual(doc.summary.critical, 0, JSON.stringify(doc.findings))
    assert.deepStrictEqual(doc.fixed, [])
  })

  it("--fix tightens file modes, says what it changed, and touches nothing else", async () => {
    const env = homeWith({ gateway: { auth: { token: "short-token" } } })
    const token = join(env.OPENCLAW_STATE_DIR, "gateway.token")
    writeFileSync(token, "x".repeat(48), { mode: 0o644 })
    chmodSync(token, 0o644)
    chmodSync(env.OPENCLAW_STATE_DIR, 0o755)
    const before = await run(["security", "audit"], env)
    assert.strictEqual(before.code, 0, before.stderr)
    assert.include(before.stdout, `CRITICAL  the gateway token ${token} is readable by every user (mode 0644)`)
    assert.include(before.stdout, "gatehouse security audit --fix does this")
    assert.include(before.stdout, "the gateway token is 11 characters long")
    assert.notInclude(before.stdout, "short-token")
    const fixed = await run(["security", "audit", "--fix"], env)
    assert.include(fixed.stdout, `fixed     ${token}: mode 0644 → 0600`)
    assert.include(fixed.stdout, `fixed     ${env.OPENCLAW_STATE_DIR}: mode 0755 → 0700`)
    assert.strictEqual(statSync(token).mode & 0o777, 0o600)
    assert.strictEqual(statSync(env.OPENCLAW_STATE_DIR).mode & 0o777, 0o700)
    const after = JSON.parse((await run(["security", "audit", "--json"], env)).stdout)
    assert.deepStrictEqual(after.findings.map((f: { id: string }) => f.id), ["secret.short-token"])
  })

  it("--fix never follows a link planted in the state dir", async () => {
    const env = homeWith({})
    const victim = join(tempDir("gatehouse-victim-"), "victim")
    writeFileSync(victim, "v", { mode: 0o644 })
    chmodSync(victim, 0o644)
    symlinkSync(victim, join(env.OPENCLAW_STATE_DIR, "gateway.token"))
    const fixed = await run(["security", "audit", "--fix", "--json"], env)
    assert.strictEqual(fixed.code, 0, fixed.stderr)
    assert.strictEqual(statSync(victim).mode & 0o777, 0o644)
  })
})
