/**
 * The part of `openclaw.json` gatehouse reads, as a Schema. Keys it does not know
 * are reported as warnings (users bring whole OpenClaw configs); wrong types are
 * errors naming the file, the key path and what was expected.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { LimitsConfig } from "./limits.ts"

export const BIND_MODES = ["loopback", "lan", "tailnet", "auto", "custom"] as const
export type BindMode = typeof BIND_MODES[number]

export const AUTH_MODES = ["token", "password", "none", "trusted-proxy"] as const
export type AuthMode = typeof AUTH_MODES[number]

export const MDNS_MODES = ["off", "minimal", "full"] as const
export type MdnsMode = typeof MDNS_MODES[number]

// OpenClaw's direct-message policies; `open` (anyone may talk to the bot, and so run node commands) is not offered.
export const DM_POLICIES = ["allowlist", "pairing", "disabled"] as const
export type DmPolicy = typeof DM_POLICIES[number]

const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
const Strings = Schema.Array(Schema.String)
// Zero or negative limits would silently disable protection (or lock everyone out): refuse them.
const Positive = Schema.Int.check(Schema.isGreaterThan(0))

export const FileConfig = Schema.Struct({
  gateway: Schema.optionalKey(Schema.Struct({
    mode: Schema.optionalKey(Schema.Literals(["local", "remote"])),
    port: Schema.optionalKey(Port),
    bind: Schema.optionalKey(Schema.Literals(BIND_MODES)),
    customBindHost: Schema.optionalKey(Schema.String),
    auth: Schema.optionalKey(Schema.Struct({
      mode: Schema.optionalKey(Schema.Literals(AUTH_MODES)),
      token: Schema.optionalKey(Schema.String),
      password: Schema.optionalKey(Schema.String),
      // Tailscale Serve identity (tailscale-user-login, confirmed with `tailscale whois`) for WebSocket clients.
      allowTailscale: Schema.optionalKey(Schema.Boolean),
      // auth mode trusted-proxy: who the identity-aware proxy says the user is, and what else it must send.
      trustedProxy: Schema.optionalKey(Schema.Struct({
        userHeader: Schema.optionalKey(Schema.String),
        requiredHeaders: Schema.optionalKey(Strings),
        allowUsers: Schema.optionalKey(Strings),
        // gatehouse's own: a proxy on this host (loopback) is believed only when this is true.
        allowLoopback: Schema.optionalKey(Schema.Boolean)
      })),
      rateLimit: Schema.optionalKey(Schema.Struct({
        maxAttempts: Schema.optionalKey(Positive),
        windowMs: Schema.optionalKey(Positive),
        lockoutMs: Schema.optionalKey(Positive)
      }))
    })),
    remote: Schema.optionalKey(Schema.Struct({
      url: Schema.optionalKey(Schema.String),
      token: Schema.optionalKey(Schema.String),
      password: Schema.optionalKey(Schema.String),
      tlsFingerprint: Schema.optionalKey(Schema.String),
      // How remote CLI calls travel: "direct" (the URL as given) or "ssh" (an `ssh -N -L` forward to sshTarget).
      transport: Schema.optionalKey(Schema.Literals(["direct", "ssh"])),
      sshTarget: Schema.optionalKey(Schema.String),
      sshIdentity: Schema.optionalKey(Schema.String),
      sshPort: Schema.optionalKey(Port),
      // The gateway's port on the SSH server's loopback (default: the port of gateway.remote.url, else 18789).
      sshRemotePort: Schema.optionalKey(Port),
      // A tailnet name or IP of the gateway, tried after a paired direct endpoint and discovery, before SSH.
      tailnet: Schema.optionalKey(Schema.String)
    })),
    tls: Schema.optionalKey(Schema.Struct({
      enabled: Schema.optionalKey(Schema.Boolean),
      certPath: Schema.optionalKey(Schema.String),
      keyPath: Schema.optionalKey(Schema.String)
    })),
    controlUi: Schema.optionalKey(Schema.Struct({
      allowedOrigins: Schema.optionalKey(Strings)
    })),
    // gatehouse's own: a Redis holding the failed-credential counts shared by several gateways.
    rateLimit: Schema.optionalKey(Schema.Struct({
      redisUrl: Schema.optionalKey(Schema.String)
    })),
    trustedProxies: Schema.optionalKey(Strings),
    // gatehouse's own: budgets of what a client can make the gateway hold (see config/limits.ts).
    limits: Schema.optionalKey(LimitsConfig),
    // Read for the fail-closed start checks only: gatehouse does not drive `tailscale serve` itself.
    tailscale: Schema.optionalKey(Schema.Struct({
      mode: Schema.optionalKey(Schema.Literals(["off", "serve", "funnel"])),
      resetOnExit: Schema.optionalKey(Schema.Boolean)
    })),
    pairing: Schema.optionalKey(Schema.Struct({
      autoApproveLocal: Schema.optionalKey(Schema.Boolean)
    })),
    nodes: Schema.optionalKey(Schema.Struct({
      allowCommands: Schema.optionalKey(Strings),
      denyCommands: Schema.optionalKey(Strings)
    }))
  })),
  // gatehouse's own: where pairing state lives when it is shared by several gateways.
  state: Schema.optionalKey(Schema.Struct({
    postgres: Schema.optionalKey(Schema.Struct({
      url: Schema.optionalKey(Schema.String)
    }))
  })),
  discovery: Schema.optionalKey(Schema.Struct({
    mdns: Schema.optionalKey(Schema.Struct({
      mode: Schema.optionalKey(Schema.Literals(MDNS_MODES)),
      // Interface names (eth0, wlan0) to advertise on; absent: every LAN interface.
      interfaces: Schema.optionalKey(Strings)
    })),
    // Unicast DNS-SD: a zone file with the same records, for a DNS server the user runs.
    wideArea: Schema.optionalKey(Schema.Struct({
      enabled: Schema.optionalKey(Schema.Boolean),
      domain: Schema.optionalKey(Schema.String),
      zoneFile: Schema.optionalKey(Schema.String)
    }))
  })),
  channels: Schema.optionalKey(Schema.Struct({
    telegram: Schema.optionalKey(Schema.Struct({
      enabled: Schema.optionalKey(Schema.Boolean),
      botToken: Schema.optionalKey(Schema.String),
      // The Bot API base URL (a local Bot API server, or a test double).
      apiRoot: Schema.optionalKey(Schema.String),
      // Telegram user ids, as numbers or strings ("123", "tg:123", "telegram:123"); "*" is anyone.
      allowFrom: Schema.optionalKey(Schema.Array(Schema.Union([Schema.String, Schema.Number]))),
      dmPolicy: Schema.optionalKey(Schema.Literals(DM_POLICIES))
    }))
  })),
  // OpenClaw's model keys, read to pick the agent channels answer with (src/config/agent.ts); their other keys are ignored.
  models: Schema.optionalKey(Schema.Struct({
    providers: Schema.optionalKey(Schema.Record(Schema.String, Schema.Struct({
      baseUrl: Schema.optionalKey(Schema.String),
      apiKey: Schema.optionalKey(Schema.String),
      api: Schema.optionalKey(Schema.String)
    })))
  })),
  agents: Schema.optionalKey(Schema.Struct({
    defaults: Schema.optionalKey(Schema.Struct({
      // "<provider>/<model>", or OpenClaw's object form `{ primary, fallbacks }` (checked in agent.ts).
      model: Schema.optionalKey(Schema.Unknown),
      timeoutSeconds: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3600 })))
    }))
  })),
  node: Schema.optionalKey(Schema.Struct({
    run: Schema.optionalKey(Schema.Struct({
      allow: Schema.optionalKey(Strings)
    }))
  })),
  // Read for the fail-closed start checks only (a hook token equal to the gateway secret is refused).
  hooks: Schema.optionalKey(Schema.Struct({
    token: Schema.optionalKey(Schema.String)
  })),
  logging: Schema.optionalKey(Schema.Struct({
    level: Schema.optionalKey(Schema.Literals(["trace", "debug", "info", "warn", "error", "fatal", "silent"])),
    format: Schema.optionalKey(Schema.Literals(["pretty", "json"])),
    // The gateway's log file (default `<stateDir>/logs/gateway.log`), rotated at 10 MiB.
    file: Schema.optionalKey(Schema.String)
  })),
  diagnostics: Schema.optionalKey(Schema.Struct({
    // OpenTelemetry export of traces and metrics over OTLP/HTTP, on when `endpoint` is set.
    otel: Schema.optionalKey(Schema.Struct({
      enabled: Schema.optionalKey(Schema.Boolean),
      endpoint: Schema.optionalKey(Schema.String),
      protocol: Schema.optionalKey(Schema.Literals(["http/protobuf", "http/json"])),
      headers: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
      serviceName: Schema.optionalKey(Schema.String),
      flushIntervalMs: Schema.optionalKey(Positive)
    }))
  }))
})
export type FileConfig = typeof FileConfig.Type

/** The outcome of reading a config document: the known part plus the unknown key paths. */
export interface DecodedFile {
  readonly config: FileConfig
  readonly unknownKeys: ReadonlyArray<string>
}

/** One reason a config document is invalid. */
export interface ConfigProblem {
  readonly path: string
  readonly message: string
}

const decodeAll = Schema.decodeUnknownResult(FileConfig, { errors: "all", onExcessProperty: "error" })
const decodeLenient = Schema.decodeUnknownResult(FileConfig, { errors: "all" })
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Decodes a parsed config document, separating unknown keys (warnings) from real problems. */
export const decodeFileConfig = (doc: unknown): Result.Result<DecodedFile, ReadonlyArray<ConfigProblem>> => {
  const strict = decodeAll(doc)
  if (Result.isSuccess(strict)) return Result.succeed({ config: strict.success, unknownKeys: [] })
  const issues = formatIssues(strict.failure.issue).issues.map((i) => ({ path: pathOf(i.path), message: i.message }))
  const unknownKeys = issues.filter((i) => isExcess(i.message)).map((i) => i.path)
  const problems = issues.filter((i) => !isExcess(i.message))
  if (problems.length > 0) return Result.fail(problems)
  const lenient = decodeLenient(doc)
  if (Result.isFailure(lenient)) return Result.fail([{ path: "", message: lenient.failure.message }])
  return Result.succeed({ config: lenient.success, unknownKeys })
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const isExcess = (message: string) => /excess property/i.test(message)

const pathOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined) =>
  (path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join(".")
