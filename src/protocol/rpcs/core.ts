/**
 * The core methods: health, status, presence, heartbeat, identity, config.
 */
import * as Schema from "effect/Schema"
import { anyone, MethodAccess, operator } from "../access.ts"
import { StateVersion } from "../frames.ts"
import { JsonValue } from "../json.ts"
import { method } from "./define.ts"

const opt = Schema.optionalKey

// A rest value: any value, and JSON as it is on the wire. `Unknown` here had the JSON codec check every
// key's value as JSON once more (a tree walk and a WeakMap per key per answer), though the declared keys are
// checked by their own schemas and decoded text is JSON anyway.
const RestValue = Schema.declare((_u: unknown): _u is unknown => true, { expected: "unknown", toCodecJson: () => undefined })

/**
 * The `health` summary, as OpenClaw clients read it. Channels, agents and sessions
 * are open-ended, and so is the rest: OpenClaw's gateway reports more (plugins,
 * event loop, memory), which a client keeps rather than drops.
 */
export const HealthSummary = Schema.StructWithRest(
  Schema.Struct({
    ok: Schema.Boolean,
    ts: Schema.Number,
    durationMs: Schema.Number,
    channels: Schema.Record(Schema.String, JsonValue),
    channelOrder: Schema.Array(Schema.String),
    channelLabels: Schema.Record(Schema.String, Schema.String),
    heartbeatSeconds: Schema.Number,
    defaultAgentId: Schema.String,
    agents: Schema.Array(JsonValue),
    sessions: Schema.Struct({ path: Schema.String, count: Schema.Number, recent: Schema.Array(JsonValue) }),
    // Optional for clients reading a gateway that does not report it; gatehouse always does.
    eventLoop: opt(Schema.Struct({
      degraded: Schema.Boolean,
      degradedSinceMs: Schema.NullOr(Schema.Number),
      reasons: Schema.Array(Schema.String),
      intervalMs: Schema.Number,
      delayP99Ms: Schema.Number,
      delayMaxMs: Schema.Number,
      utilization: Schema.Number,
      cpuCoreRatio: Schema.Number
    }))
  }),
  // The rest is every key, the declared ones included, so it is walked once per answer: as `Unknown` it
  // is copied, where `JsonValue` made a JSON copy of each value again (~10 µs of a 15 µs encode). Both
  // decode as the JSON they are; on encode the undeclared keys then go to `JSON.stringify` as they are,
  // which drops `undefined` fields and writes `undefined` array items as `null` just as `toJson` did.
  [Schema.Record(Schema.String, RestValue)]
)
export type HealthSummary = typeof HealthSummary.Type

/** One entry of the presence list (the gateway itself first, then tracked clients). */
export const PresenceEntry = Schema.Struct({
  host: opt(Schema.String),
  ip: opt(Schema.String),
  version: opt(Schema.String),
  platform: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  mode: opt(Schema.String),
  reason: opt(Schema.String),
  instanceId: opt(Schema.String),
  roles: opt(Schema.Array(Schema.String)),
  text: opt(Schema.String),
  ts: Schema.Number
})
export type PresenceEntry = typeof PresenceEntry.Type

export const StatusResult = Schema.Struct({
  ok: Schema.Boolean,
  version: Schema.String,
  uptimeMs: Schema.Number,
  host: Schema.String,
  os: Schema.String,
  node: Schema.String,
  gateway: Schema.Struct({
    bind: Schema.String,
    host: Schema.String,
    port: Schema.Number,
    authMode: Schema.String,
    /** TLS on the gateway's port: on or off, and the SHA-256 (64 lowercase hex) of the certificate served. */
    tls: opt(Schema.Struct({ enabled: Schema.Boolean, sha256: opt(Schema.String) })),
    /** Only for `operator.admin` callers. */
    stateDir: opt(Schema.String),
    configPath: opt(Schema.String),
    /** Where the secret in force came from (flag, env, file, state); only for `operator.admin` callers. */
    secretSource: opt(Schema.String)
  }),
  connections: Schema.Struct({ total: Schema.Number, operators: Schema.Number, nodes: Schema.Number }),
  presence: Schema.Array(PresenceEntry),
  stateVersion: StateVersion,
  /** How the gateway is found without an address, and what it advertises. */
  discovery: Schema.Struct({
    mode: Schema.String,
    advertised: Schema.Array(Schema.Struct({ name: Schema.String, host: Schema.String, port: Schema.Number })),
    /** The advertiser's state: idle, probing, advertising, backoff (with the last error). */
    state: opt(Schema.Struct({
      phase: Schema.String,
      interfaces: Schema.Array(Schema.String),
      conflicts: Schema.Number,
      restarts: Schema.Number,
      lastError: opt(Schema.String)
    }))
  }),
  /** Config hot reload: keys changed in the file that wait for a restart, and why the file is not in force. */
  config: opt(Schema.Struct({
    restartNeeded: Schema.Array(Schema.String),
    /** The command that applies `restartNeeded`. */
    restartCommand: opt(Schema.String),
    /** The file on disk is invalid: the last good config stays in force (details only for `operator.admin`). */
    invalid: opt(Schema.String)
  })),
  /** Each configured channel and its state. */
  channels: Schema.Array(Schema.Struct({
    id: Schema.String,
    label: Schema.String,
    enabled: Schema.Boolean,
    running: Schema.Boolean,
    lastError: opt(Schema.String)
  }))
})
export type StatusResult = typeof StatusResult.Type

/** OpenClaw's stability snapshot: gatehouse records no diagnostic events yet, so `events` is empty; memory and event loop are live. */
export const StabilitySnapshot = Schema.Struct({
  count: Schema.Number,
  capacity: Schema.Number,
  dropped: Schema.Number,
  summary: Schema.Struct({
    byType: Schema.Record(Schema.String, Schema.Number),
    memory: Schema.Struct({
      latest: Schema.Struct({ rssBytes: Schema.Number, heapUsedBytes: Schema.Number }),
      maxRssBytes: Schema.Number,
      pressureCount: Schema.Number
    })
  }),
  events: Schema.Array(JsonValue),
  uptimeMs: Schema.Number,
  eventLoop: Schema.Struct({ delayP50Ms: Schema.Number, delayP99Ms: Schema.Number, delayMaxMs: Schema.Number })
})

export class DiagnosticsStability extends method("diagnostics.stability", {
  limit: opt(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 10_000 }))),
  type: opt(Schema.String.check(Schema.isMaxLength(128))),
  sinceSeq: opt(Schema.Int)
}, StabilitySnapshot).annotate(MethodAccess, operator("operator.read")) {}

export class Health extends method("health", { probe: opt(Schema.Boolean) }, HealthSummary).annotate(MethodAccess, anyone) {}

export class Status extends method("status", {}, StatusResult).annotate(MethodAccess, operator("operator.read")) {}

export class SystemPresence extends method("system-presence", {}, Schema.Array(PresenceEntry)).annotate(MethodAccess, operator("operator.read")) {}

/** The last agent heartbeat; `null` until there is one. */
export class LastHeartbeat extends method("last-heartbeat", {}, JsonValue).annotate(MethodAccess, operator("operator.read")) {}

export class GatewayIdentityGet extends method("gateway.identity.get", {}, Schema.Struct({ deviceId: Schema.String, publicKey: Schema.String }))
  .annotate(MethodAccess, operator("operator.read")) {}

/** The config file as the gateway read it, every secret redacted. */
export class ConfigGet extends method("config.get", { path: opt(Schema.String) }, Schema.Struct({ path: Schema.String, exists: Schema.Boolean, config: JsonValue }))
  .annotate(MethodAccess, operator("operator.read")) {}
