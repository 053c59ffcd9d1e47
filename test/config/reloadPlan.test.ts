import { assert, describe, it } from "@effect/vitest"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { LoadedFile } from "../../src/config/file.ts"
import { profilePaths } from "../../src/config/paths.ts"
import { planReload, secretsChanged } from "../../src/config/reloadPlan.ts"
import { type EffectiveConfig, resolveConfig } from "../../src/config/resolve.ts"
import { decodeFileConfig } from "../../src/config/schema.ts"
import { withLiveLevel } from "../../src/observability/liveLevel.ts"

// One setting per key the plan knows, each either at its start value or changed.
const Edit = Schema.Struct({
  port: Schema.Boolean,
  bind: Schema.Boolean,
  deny: Schema.Boolean,
  allow: Schema.Boolean,
  autoApprove: Schema.Boolean,
  proxies: Schema.Boolean,
  rateLimit: Schema.Boolean,
  level: Schema.Boolean,
  mdns: Schema.Boolean,
  redis: Schema.Boolean
})
type Edit = typeof Edit.Type

const paths = profilePaths(undefined, { HOME: "/nonexistent-home" })

const effective = (doc: unknown): EffectiveConfig => {
  const decoded = decodeFileConfig(doc)
  if (decoded._tag !== "Success") throw new Error(JSON.stringify(decoded.failure))
  const file: LoadedFile = { exists: true, document: doc, ...decoded.success }
  const c = resolveConfig(paths, file, {}, {})
  if (typeof c === "string") throw new Error(c)
  return c
}

// The document with every chosen key changed from its start value.
const docOf = (e: Edit, withRedis: boolean) => ({
  gateway: {
    port: e.port ? 20002 : 20001,
    bind: e.bind ? "lan" : "loopback",
    nodes: { denyCommands: e.deny ? ["system.run"] : [], allowCommands: e.allow ? ["camera.snap"] : [] },
    pairing: { autoApproveLocal: !e.autoApprove },
    trustedProxies: e.proxies ? ["10.0.0.1"] : [],
    auth: { rateLimit: { maxAttempts: e.rateLimit ? 5 : 10 } },
    ...(withRedis ? { rateLimit: { redisUrl: "redis://127.0.0.1:6379" } } : {})
  },
  logging: { level: e.level ? "debug" : "info" },
  discovery: { mdns: { mode: e.mdns ? "off" : "minimal" } }
})

const NONE: Edit = { port: false, bind: false, deny: false, allow: false, autoApprove: false, proxies: false, rateLimit: false, level: false, mdns: false, redis: false }

describe("what a config edit means for the running gateway", () => {
  it.prop("every changed key is reported once, as live or as restart-only, and nothing unchanged is", { edit: Edit }, ({ edit }) => {
    const plan = planReload(effective(docOf(NONE, edit.redis)), effective(docOf(edit, edit.redis)))
    const expectLive = [
      ...(edit.rateLimit && !edit.redis ? ["gateway.auth.rateLimit"] : []),
      ...(edit.allow ? ["gateway.nodes.allowCommands"] : []),
      ...(edit.deny ? ["gateway.nodes.denyCommands"] : []),
      ...(edit.autoApprove ? ["gateway.pairing.autoApproveLocal"] : []),
      ...(edit.proxies ? ["gateway.trustedProxies"] : []),
      ...(edit.level ? ["logging.level"] : []),
      ...(edit.mdns ? ["discovery"] : [])
    ]
    const expectRestart = [
      ...(edit.port ? ["gateway.port"] : []),
      ...(edit.bind ? ["gateway.bind"] : []),
      // With a shared (Redis) limiter the policy is fixed at start.
      ...(edit.rateLimit && edit.redis ? ["gateway.auth.rateLimit"] : [])
    ]
    assert.deepStrictEqual([...plan.live].sort(), expectLive.sort())
    assert.deepStrictEqual([...plan.restart].sort(), expectRestart.sort())
  }, { arbitrary: { runs: 200 } })

  it("a new token or password is a new secret generation; the same values are not", () => {
    const token = (t: string) => ({ value: Redacted.make(t), source: "file" as const })
    assert.isFalse(secretsChanged({ token: token("a"), password: undefined }, { token: token("a"), password: undefined }))
    assert.isTrue(secretsChanged({ token: token("a"), password: undefined }, { token: token("b"), password: undefined }))
    assert.isTrue(secretsChanged({ token: undefined, password: undefined }, { token: undefined, password: token("p") }))
  })

  it("the daemon's logger applies logging.level per record, so a reload changes it", () => {
    const seen: Array<string> = []
    let level: string | undefined = "warn"
    const logger = withLiveLevel(Logger.make(({ logLevel }) => void seen.push(logLevel)), () => level)
    const record = (logLevel: "Info" | "Warn" | "Debug") => logger.log({ logLevel } as Parameters<typeof logger.log>[0])
    record("Info")
    record("Warn")
    level = "debug"
    record("Debug")
    level = "silent"
    record("Warn")
    level = undefined
    record("Debug")
    record("Info")
    assert.deepStrictEqual(seen, ["Warn", "Debug", "Info"])
  })
})
