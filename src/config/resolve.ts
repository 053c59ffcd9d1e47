/**
 * Turns flags, environment, the config file and state-dir files into one effective
 * config. The rule, for every setting: flag > environment > config file > state dir
 * (generated token) > profile default > built-in default.
 */
import * as Redacted from "effect/Redacted"
import { DEFAULT_FAILURE_POLICY, type FailurePolicy } from "../auth/failureWindow.ts"
import { networkInterfaces } from "node:os"
import { existsSync, readFileSync } from "node:fs"
import { isIpLiteral, isLoopbackIp, isTailnetIpv4 } from "../net/ip.ts"
import type { LoadedFile } from "./file.ts"
import { invalidEntries } from "../net/addressSet.ts"
import { type ProxyIdentityConfig, resolveProxyIdentity } from "./proxyIdentity.ts"
import { normalizeFingerprint } from "../tls/fingerprint.ts"
import { redactUrl } from "./redact.ts"
import { type AgentSettings, resolveAgent } from "./agent.ts"
import { type Env, type ProfilePaths } from "./paths.ts"
import type { AuthMode, BindMode, DmPolicy, MdnsMode } from "./schema.ts"
import { type Limits, resolveLimits } from "./limits.ts"

export type Source = "flag" | "env" | "file" | "state" | "profile" | "default"

/** Settings given on the command line. */
export interface Overrides {
  readonly profile?: string | undefined
  readonly dev?: boolean | undefined
  readonly port?: number | undefined
  readonly bind?: BindMode | undefined
  readonly host?: string | undefined
  readonly auth?: AuthMode | undefined
  readonly token?: Redacted.Redacted<string> | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  /** Serve wss:// (`gateway run --tls`). */
  readonly tls?: boolean | undefined
}

/** A value with where it came from. */
export interface Sourced<A> {
  readonly value: A
  readonly source: Source
}

/** The effective gateway config (secrets are resolved separately, per connection). */
export interface EffectiveConfig {
  readonly paths: ProfilePaths
  readonly mode: Sourced<"local" | "remote">
  readonly port: Sourced<number>
  readonly bind: Sourced<BindMode>
  readonly customHost: Sourced<string | undefined>
  readonly authMode: Sourced<AuthMode>
  readonly allowedOrigins: ReadonlyArray<string>
  /** Proxies whose X-Forwarded-For is believed (IP literals). */
  readonly trustedProxies: ReadonlyArray<string>
  /** Approve new devices on direct loopback connections without asking. */
  readonly autoApproveLocal: boolean
  /** Failed-credential limits. */
  readonly authRateLimit: FailurePolicy
  /** Budgets of what a client can make the gateway hold (`gateway.limits.*`). */
  readonly limits: Limits
  /** Node command policy additions and removals. */
  readonly nodeCommands: { readonly allowCommands: ReadonlyArray<string>; readonly denyCommands: ReadonlyArray<string> }
  readonly remote: {
    readonly url: string | undefined
    readonly token: Redacted.Redacted<string> | undefined
    readonly password: Redacted.Redacted<string> | undefined
    /** `gateway.remote.transport`: "ssh" sends remote calls through an SSH forward. */
    readonly transport: "direct" | "ssh" | undefined
    readonly sshTarget: string | undefined
    readonly sshIdentity: string | undefined
    readonly sshPort: number | undefined
    readonly sshRemotePort: number | undefined
    readonly tailnet: string | undefined
    /** The pinned SHA-256 of the remote gateway's certificate (64 lowercase hex). */
    readonly tlsFingerprint: string | undefined
  }
  /** TLS on the gateway's port (`gateway.tls.*`, `--tls`): the user's certificate, or one generated under the state dir. */
  readonly tls: {
    readonly enabled: Sourced<boolean>
    readonly certPath: string | undefined
    readonly keyPath: string | undefined
  }
  /**
   * The PostgreSQL database holding pairing state shared by several gateways
   * (`GATEHOUSE_POSTGRES_URL` > `state.postgres.url`); unset: files under the state dir.
   */
  readonly postgresUrl: Redacted.Redacted<string> | undefined
  /** Where `postgresUrl` came from. */
  readonly postgresUrlSource: "env" | "file" | undefined
  /**
   * The Redis holding failed-credential counts shared by several gateways
   * (`GATEHOUSE_REDIS_URL` > `gateway.rateLimit.redisUrl`); unset: counted in memory.
   */
  readonly redisUrl: Redacted.Redacted<string> | undefined
  /** Where `redisUrl` came from. */
  readonly redisUrlSource: "env" | "file" | undefined
  /** Bonjour/mDNS advertising and the values of its TXT hints that come from the environment. */
  readonly discovery: DiscoveryConfig
  /** The configured channels (none configured: no channel runs). */
  readonly channels: { readonly telegram: TelegramSettings | undefined }
  /** The agent channels answer with (`agents.defaults.model`, `models.providers`): the rules agent unless a model is configured. */
  readonly agent: AgentSettings
  readonly file: LoadedFile
  /** Trusted-proxy auth, Tailscale Serve identity and the Tailscale mode. */
  readonly proxyIdentity: ProxyIdentityConfig
}

/** `channels.telegram.*`, with TELEGRAM_BOT_TOKEN as the token when the file has none. */
export interface TelegramSettings {
  readonly enabled: boolean
  readonly botToken: Redacted.Redacted<string> | undefined
  /** Where the token came from, in OpenClaw's words. */
  readonly tokenSource: "config" | "env" | "none"
  readonly apiRoot: string
  /** Normalised user ids; "*" admits anyone. */
  readonly allowFrom: ReadonlyArray<string>
  readonly dmPolicy: DmPolicy
}

/** Telegram's own Bot API. */
export const TELEGRAM_API_ROOT = "https://api.telegram.org"

/** Resolves `channels.telegram.*`: undefined when neither the file nor the environment mentions Telegram. */
export const resolveTelegram = (file: LoadedFile, env: Env): TelegramSettings | string | undefined => {
  const t = file.config.channels?.telegram
  const envToken = nonEmpty(env.TELEGRAM_BOT_TOKEN?.trim())
  if (t === undefined && envToken === undefined) return undefined
  const fileToken = nonEmpty(t?.botToken?.trim())
  const apiRoot = (nonEmpty(t?.apiRoot?.trim()) ?? TELEGRAM_API_ROOT).replace(/\/+$/, "")
  if (!URL.canParse(apiRoot) || !["http:", "https:"].includes(new URL(apiRoot).protocol)) {
    return `channels.telegram.apiRoot must be an http(s) URL (e.g. ${TELEGRAM_API_ROOT}), got ${redactUrl(apiRoot)}`
  }
  const allowFrom = (t?.allowFrom ?? []).map((id) => String(id).trim().replace(/^(telegram|tg):/i, "")).filter((id) => id.length > 0)
  // "*" would let any Telegram user drive the agent, and through it the nodes' tools (OpenClaw's `open` policy, not offered).
  if (allowFrom.includes("*")) {
    return `channels.telegram.allowFrom must list Telegram user ids, not "*" (that would let anyone on Telegram run the agent and its node tools); ` +
      `run \`gatehouse config unset channels.telegram.allowFrom\` and add ids one by one`
  }
  const token = fileToken ?? envToken
  return {
    enabled: t?.enabled ?? true,
    botToken: token === undefined ? undefined : Redacted.make(token),
    tokenSource: fileToken !== undefined ? "config" : envToken !== undefined ? "env" : "none",
    apiRoot,
    allowFrom,
    dmPolicy: t?.dmPolicy ?? "pairing"
  }
}

/** `discovery.*` and its environment overrides. */
export interface DiscoveryConfig {
  /** "off" also when OPENCLAW_DISABLE_BONJOUR is set (source "env"). */
  readonly mdnsMode: Sourced<MdnsMode>
  /** Interface names to advertise on; empty: every LAN interface. */
  readonly interfaces: ReadonlyArray<string>
  /** OPENCLAW_SSH_PORT: the `sshPort` hint (full mode; 22 when unset). */
  readonly sshPort: number | undefined
  /** OPENCLAW_TAILNET_DNS: the `tailnetDns` hint (trailing dot stripped). */
  readonly tailnetDns: string | undefined
  /** OPENCLAW_CLI_PATH: the `cliPath` hint (full mode). */
  readonly cliPath: string | undefined
  /** OPENCLAW_MDNS_HOSTNAME: the advertised host label (default: this machine's name). */
  readonly hostname: string | undefined
  /**
   * The wide-area beacon: `discovery.wideArea.domain` (or OPENCLAW_WIDE_AREA_DOMAIN) unless
   * `discovery.wideArea.enabled` is false; the zone file defaults to `<state dir>/dns/<domain>.db`.
   */
  readonly wideArea: { readonly domain: string; readonly zoneFile: string } | undefined
}

/** Whether an environment flag is set to a true value ("1", "true", "yes", "on"). */
export const envFlag = (value: string | undefined) => value !== undefined && /^(1|true|yes|on)$/i.test(value.trim())

/** Resolves `discovery.*` with its environment overrides, or an error message. */
export const resolveDiscovery = (file: LoadedFile, env: Env, stateDir = "."): DiscoveryConfig | string => {
  const mdns = file.config.discovery?.mdns
  const wide = file.config.discovery?.wideArea
  const domain = (nonEmpty(env.OPENCLAW_WIDE_AREA_DOMAIN?.trim()) ?? nonEmpty(wide?.domain?.trim()))?.replace(/\.$/, "").toLowerCase()
  if (domain !== undefined && !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(domain)) {
    return `discovery.wideArea.domain must be a DNS domain name (e.g. gw.example.internal), got "${domain}"`
  }
  const sshPortRaw = nonEmpty(env.OPENCLAW_SSH_PORT)
  let sshPort: number | undefined
  if (sshPortRaw !== undefined) {
    const n = Number(sshPortRaw)
    if (!Number.isInteger(n) || n < 1 || n > 65535) return `OPENCLAW_SSH_PORT must be a port number (1-65535), got "${sshPortRaw}"`
    sshPort = n
  }
  const mdnsMode: Sourced<MdnsMode> = envFlag(env.OPENCLAW_DISABLE_BONJOUR)
    ? { value: "off", source: "env" }
    : pick<MdnsMode>([mdns?.mode, "file"]) ?? { value: "minimal", source: "default" }
  return {
    mdnsMode,
    interfaces: mdns?.interfaces ?? [],
    sshPort,
    tailnetDns: nonEmpty(env.OPENCLAW_TAILNET_DNS?.trim())?.replace(/\.$/, ""),
    cliPath: nonEmpty(env.OPENCLAW_CLI_PATH),
    hostname: nonEmpty(env.OPENCLAW_MDNS_HOSTNAME?.trim()),
    wideArea: domain === undefined || wide?.enabled === false
      ? undefined
      : { domain, zoneFile: nonEmpty(wide?.zoneFile) ?? `${stateDir}/dns/${domain}.db` }
  }
}

/** The environment variable naming the pairing database (wins over `state.postgres.url`). */
export const POSTGRES_URL_ENV = "GATEHOUSE_POSTGRES_URL"

/** The environment variable naming the rate limiter's Redis (wins over `gateway.rateLimit.redisUrl`). */
export const REDIS_URL_ENV = "GATEHOUSE_REDIS_URL"

/** The shared secrets in force right now. */
export interface Secrets {
  readonly token: Sourced<Redacted.Redacted<string>> | undefined
  readonly password: Sourced<Redacted.Redacted<string>> | undefined
}

/** Path of the token the gateway generates on first start. */
export const generatedTokenPath = (paths: ProfilePaths) => `${paths.stateDir}/gateway.token`

const pick = <A>(...candidates: ReadonlyArray<readonly [A | undefined, Source]>): Sourced<A> | undefined => {
  for (const [value, source] of candidates) if (value !== undefined) return { value, source }
  return undefined
}

const nonEmpty = (s: string | undefined) => (s === undefined || s.length === 0 ? undefined : s)

/** Merges every source into the effective config. Fails with a message on a bad env value. */
export const resolveConfig = (
  paths: ProfilePaths,
  file: LoadedFile,
  overrides: Overrides,
  env: Env
): EffectiveConfig | string => {
  const gw = file.config.gateway ?? {}
  const envPort = nonEmpty(env.OPENCLAW_GATEWAY_PORT)
  let envPortValue: number | undefined
  if (envPort !== undefined) {
    const n = Number(envPort)
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      return `OPENCLAW_GATEWAY_PORT must be a port number (0-65535), got "${envPort}"`
    }
    envPortValue = n
  }
  const port = pick<number>(
    [overrides.port, "flag"],
    [envPortValue, "env"],
    [gw.port, "file"],
    [paths.profile === undefined ? undefined : paths.defaultPort, "profile"]
  ) ?? { value: paths.defaultPort, source: "default" }
  const bind = pick<BindMode>([overrides.bind, "flag"], [overrides.host === undefined ? undefined : "custom", "flag"], [gw.bind, "file"]) ??
    { value: "loopback", source: "default" }
  const customHost = pick<string | undefined>([overrides.host, "flag"], [gw.customBindHost, "file"]) ??
    { value: undefined, source: "default" }
  const hasPassword = overrides.password !== undefined || nonEmpty(env.OPENCLAW_GATEWAY_PASSWORD) !== undefined ||
    nonEmpty(gw.auth?.password) !== undefined
  const authMode = pick<AuthMode>([overrides.auth, "flag"], [gw.auth?.mode, "file"]) ??
    (hasPassword ? { value: "password" as const, source: "default" as const } : { value: "token" as const, source: "default" as const })
  const mode = pick<"local" | "remote">([gw.mode, "file"]) ?? { value: "local", source: "default" }
  const postgres = pick<string>([nonEmpty(env[POSTGRES_URL_ENV]), "env"], [nonEmpty(file.config.state?.postgres?.url), "file"])
  if (postgres !== undefined && !isPostgresUrl(postgres.value)) {
    // Never echo the raw value: it may hold the password.
    const where = postgres.source === "env" ? POSTGRES_URL_ENV : `state.postgres.url in ${paths.configPath}`
    return `${where} must be a postgres:// or postgresql:// URL (e.g. postgres://gatehouse:PASSWORD@db.internal:5432/gatehouse), got ${redactUrl(postgres.value)}`
  }
  const redis = pick<string>([nonEmpty(env[REDIS_URL_ENV]), "env"], [nonEmpty(gw.rateLimit?.redisUrl), "file"])
  if (redis !== undefined && !isRedisUrl(redis.value)) {
    const where = redis.source === "env" ? REDIS_URL_ENV : `gateway.rateLimit.redisUrl in ${paths.configPath}`
    return `${where} must be a redis:// or rediss:// URL with a host (e.g. redis://:PASSWORD@redis.internal:6379/0), got ${redactUrl(redis.value)}`
  }
  const badProxies = invalidEntries(gw.trustedProxies ?? [])
  if (badProxies.length > 0) {
    return `gateway.trustedProxies in ${paths.configPath}: ${badProxies.slice(0, 3).map((e) => JSON.stringify(e.slice(0, 64))).join(", ")} ` +
      "is not an IP address or CIDR range (e.g. 10.0.0.2, 10.0.0.0/24, fd00::/8)"
  }
  const remoteFingerprint = nonEmpty(gw.remote?.tlsFingerprint)
  const remoteTlsFingerprint = remoteFingerprint === undefined ? undefined : normalizeFingerprint(remoteFingerprint)
  if (remoteFingerprint !== undefined && remoteTlsFingerprint === undefined) {
    return `gateway.remote.tlsFingerprint in ${paths.configPath} must be a SHA-256 fingerprint (64 hex digits, or openssl's AB:CD:... form)`
  }
  const tlsFiles = { certPath: nonEmpty(gw.tls?.certPath), keyPath: nonEmpty(gw.tls?.keyPath) }
  if ((tlsFiles.certPath === undefined) !== (tlsFiles.keyPath === undefined)) {
    return `gateway.tls.certPath and gateway.tls.keyPath in ${paths.configPath} must be set together`
  }
  const discovery = resolveDiscovery(file, env, paths.stateDir)
  if (typeof discovery === "string") return discovery
  const limits = resolveLimits(gw.limits, paths.configPath)
  if (typeof limits === "string") return limits
  const telegram = resolveTelegram(file, env)
  if (typeof telegram === "string") return telegram
  const agent = resolveAgent(file, env, paths.configPath)
  if (typeof agent === "string") return agent
  const proxyIdentity = resolveProxyIdentity(file, paths.configPath)
  if (typeof proxyIdentity === "string") return proxyIdentity
  const remoteToken = nonEmpty(gw.remote?.token)
  const remotePassword = nonEmpty(gw.remote?.password)
  return {
    paths,
    mode,
    port,
    bind,
    customHost,
    authMode,
    allowedOrigins: gw.controlUi?.allowedOrigins ?? [],
    trustedProxies: gw.trustedProxies ?? [],
    autoApproveLocal: gw.pairing?.autoApproveLocal ?? true,
    authRateLimit: {
      maxFailures: gw.auth?.rateLimit?.maxAttempts ?? DEFAULT_FAILURE_POLICY.maxFailures,
      windowMs: gw.auth?.rateLimit?.windowMs ?? DEFAULT_FAILURE_POLICY.windowMs,
      lockoutMs: gw.auth?.rateLimit?.lockoutMs ?? DEFAULT_FAILURE_POLICY.lockoutMs
    },
    limits,
    nodeCommands: { allowCommands: gw.nodes?.allowCommands ?? [], denyCommands: gw.nodes?.denyCommands ?? [] },
    remote: {
      url: nonEmpty(gw.remote?.url),
      token: remoteToken === undefined ? undefined : Redacted.make(remoteToken),
      password: remotePassword === undefined ? undefined : Redacted.make(remotePassword),
      transport: gw.remote?.transport,
      sshTarget: nonEmpty(gw.remote?.sshTarget),
      sshIdentity: nonEmpty(gw.remote?.sshIdentity),
      sshPort: gw.remote?.sshPort,
      sshRemotePort: gw.remote?.sshRemotePort,
      tailnet: nonEmpty(gw.remote?.tailnet),
      tlsFingerprint: remoteTlsFingerprint
    },
    tls: {
      enabled: pick<boolean>([overrides.tls === true ? true : undefined, "flag"], [gw.tls?.enabled, "file"]) ?? { value: false, source: "default" },
      ...tlsFiles
    },
    postgresUrl: postgres === undefined ? undefined : Redacted.make(postgres.value),
    postgresUrlSource: postgres === undefined ? undefined : postgres.source === "env" ? "env" : "file",
    redisUrl: redis === undefined ? undefined : Redacted.make(redis.value),
    redisUrlSource: redis === undefined ? undefined : redis.source === "env" ? "env" : "file",
    discovery,
    channels: { telegram },
    agent,
    file,
    proxyIdentity
  }
}

/** Resolves the shared secrets from flags, env, the given file config and the generated token file. */
export const resolveSecrets = (paths: ProfilePaths, file: LoadedFile, overrides: Overrides, env: Env): Secrets =>
  secretsWith(file, overrides, env, readGeneratedToken(paths).token)

/**
 * As `resolveSecrets`, for the gateway: a token file that exists but cannot be read (EACCES, EMFILE, EIO) is a
 * problem to report, never "no token" (that would look like a rotation and end every session).
 */
export const resolveSecretsStrict = (paths: ProfilePaths, file: LoadedFile, overrides: Overrides, env: Env): Secrets | string => {
  const read = readGeneratedToken(paths)
  return read.problem ?? secretsWith(file, overrides, env, read.token)
}

const secretsWith = (file: LoadedFile, overrides: Overrides, env: Env, tokenFile: string | undefined): Secrets => {
  const auth = file.config.gateway?.auth
  const token = pick<string>(
    [overrides.token === undefined ? undefined : Redacted.value(overrides.token), "flag"],
    [nonEmpty(env.OPENCLAW_GATEWAY_TOKEN), "env"],
    [nonEmpty(auth?.token), "file"],
    [tokenFile, "state"]
  )
  const password = pick<string>(
    [overrides.password === undefined ? undefined : Redacted.value(overrides.password), "flag"],
    [nonEmpty(env.OPENCLAW_GATEWAY_PASSWORD), "env"],
    [nonEmpty(auth?.password), "file"]
  )
  return {
    token: token === undefined ? undefined : { value: Redacted.make(token.value), source: token.source },
    password: password === undefined ? undefined : { value: Redacted.make(password.value), source: password.source }
  }
}

/** Secrets that are examples from documentation, never real. */
const PLACEHOLDER_SECRETS = new Set([
  "change-me-to-a-long-random-token",
  "change-me-to-a-strong-password",
  "change-me",
  "changeme",
  "your-token-here",
  "your-password-here",
  "<token>",
  "<password>"
])

/** Whether a secret is a documented placeholder or blank. */
export const isPlaceholderSecret = (secret: string) =>
  secret.trim().length === 0 || PLACEHOLDER_SECRETS.has(secret.trim().toLowerCase())

/** The host to listen on for a bind mode, or an error message. */
export const resolveBindHost = (bind: BindMode, customHost: string | undefined, env: Env): string | { error: string } => {
  switch (bind) {
    case "loopback":
      return "127.0.0.1"
    case "lan":
      return "0.0.0.0"
    case "auto":
      return inContainer(env) ? "0.0.0.0" : "127.0.0.1"
    case "tailnet": {
      const address = tailnetAddress()
      return address ?? {
        error: "bind=tailnet but this host has no tailnet (100.64.0.0/10) address; is Tailscale up? " +
          "Run `tailscale status`, or use --bind custom --host <address>"
      }
    }
    case "custom": {
      if (customHost === undefined) {
        return { error: "bind=custom needs a host: pass --host <ip> or set gateway.customBindHost" }
      }
      if (!isIpLiteral(customHost)) {
        return { error: `bind host "${customHost}" is not an IP address literal; use e.g. --host 192.168.1.10` }
      }
      return customHost
    }
  }
}

/** Whether the gateway's listen host keeps it on loopback. */
export const isLoopbackBind = (host: string) => isLoopbackIp(host)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The generated token, or why the file that holds it could not be read (a missing file is no token).
const readGeneratedToken = (paths: ProfilePaths): { readonly token?: string | undefined; readonly problem?: string } => {
  const path = generatedTokenPath(paths)
  try {
    return { token: nonEmpty(readFileSync(path, "utf8").trim()) }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err.code === "ENOENT") return {}
    return { problem: `cannot read the gateway token file ${path} (${err.code ?? err.message}); it was left as it was. Check its owner and mode (600, the gateway's user)` }
  }
}

const isRedisUrl = (raw: string) => URL.canParse(raw) && ["redis:", "rediss:"].includes(new URL(raw).protocol) && new URL(raw).hostname !== ""

const isPostgresUrl = (raw: string) => URL.canParse(raw) && ["postgres:", "postgresql:"].includes(new URL(raw).protocol)

const tailnetAddress = (): string | undefined => {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === "IPv4" && isTailnetIpv4(info.address)) return info.address
  }
  return undefined
}

const inContainer = (env: Env) =>
  env.container !== undefined || existsSync("/.dockerenv") || existsSync("/run/.containerenv")
