/**
 * The checks of `gatehouse security audit`, as a pure function of what the CLI
 * gathered: the effective config, the secrets' lengths, the modes of the state
 * files and whether an SSH server listens. Each finding says what is risky, why,
 * and the fix; the ones that are safe to apply unattended (file modes) carry it.
 */
import { isLoopbackIp } from "../net/ip.ts"
import { codeRunners } from "../node/systemRun.ts"
import { addressSet } from "../net/addressSet.ts"
import { DANGEROUS, matches } from "../nodes/commandPolicy.ts"
import type { EffectiveConfig } from "./resolve.ts"
import { DEFAULT_LIMITS } from "./limits.ts"

/** A budget past this multiple of its default is flagged on an exposed gateway. */
const RAISED_FACTOR = 4

export type Severity = "critical" | "warn" | "info"

export interface Finding {
  /** A stable id scripts can match on (`bind.no-tls`, `file.world-readable`, …). */
  readonly id: string
  readonly severity: Severity
  readonly message: string
  readonly fix: string
  /** A change `--fix` may apply by itself. */
  readonly autoFix?: { readonly path: string; readonly mode: number } | undefined
}

/** A state file or directory and its mode (undefined: it does not exist). */
export interface StatePath {
  readonly path: string
  readonly what: string
  readonly kind: "file" | "dir"
  readonly mode: number | undefined
}

export interface AuditInput {
  readonly config: EffectiveConfig
  /** The address the gateway listens on. */
  readonly host: string
  /** Lengths of the shared secrets in force (undefined: not set), never the secrets themselves. */
  readonly tokenLength: number | undefined
  readonly passwordLength: number | undefined
  readonly paths: ReadonlyArray<StatePath>
  /** Whether an SSH server listens on this host. */
  readonly sshListening: boolean
}

/** Shorter shared secrets than this are guessable enough to flag. */
export const MIN_SECRET_LENGTH = 24

/** Every finding for `input`, the most severe first. */
export const audit = (input: AuditInput): ReadonlyArray<Finding> => {
  const { config } = input
  const findings: Array<Finding> = []
  const exposed = !isLoopbackIp(input.host)
  const where = config.paths.configPath

  if (exposed && !config.tls.enabled.value) {
    findings.push({
      id: "bind.no-tls",
      severity: "critical",
      message: `the gateway listens on ${input.host} (not loopback) without TLS: tokens and traffic cross the network in clear`,
      fix: `set gateway.tls.enabled: true in ${where} (or run with --tls), or bind loopback and reach it over SSH (gatehouse tunnel) or a tailnet`
    })
  }
  if (exposed && config.authMode.value === "none") {
    findings.push({
      id: "auth.none-exposed",
      severity: "critical",
      message: `auth mode is "none" on a gateway reachable at ${input.host}: anyone who can reach the port is an operator`,
      fix: `set gateway.auth.mode to "token" in ${where} (the default), or bind loopback`
    })
  }
  if (!exposed && config.authMode.value === "none") {
    findings.push({
      id: "auth.none-loopback",
      severity: input.sshListening || config.allowedOrigins.length > 0 ? "critical" : "warn",
      message: "auth mode is \"none\": every account on this host" + (input.sshListening ? ", every SSH forward into it," : "") +
        " and every local process is a full operator",
      fix: `set gateway.auth.mode to "token" in ${where} (the default)`
    })
  }
  // Budgets raised far past their defaults let one client hold what every client shares.
  const raised = (Object.keys(DEFAULT_LIMITS) as Array<keyof typeof DEFAULT_LIMITS>).filter((k) => config.limits[k] > DEFAULT_LIMITS[k] * RAISED_FACTOR)
  if (exposed && raised.length > 0) {
    findings.push({
      id: "limits.raised",
      severity: "warn",
      message: `gateway.limits.${raised.join(", gateway.limits.")} ${raised.length === 1 ? "is" : "are"} over ${RAISED_FACTOR}× the default on a gateway reachable at ${input.host}: ` +
        "one client can hold sockets, memory or pairing requests that every client shares",
      fix: `lower ${raised.map((k) => `gateway.limits.${k} (default ${DEFAULT_LIMITS[k]})`).join(", ")} in ${where}, or remove them to use the defaults`
    })
  }
  // A range that trusts everyone lets any client write its own X-Forwarded-For, and pick its limiter key.
  const broadProxies = config.trustedProxies.filter((p) => {
    const range = addressSet([p])
    return (range.has("8.8.8.8") && range.has("10.0.0.1")) || (range.has("2001:db8::1") && range.has("fd00::1"))
  })
  if (broadProxies.length > 0) {
    findings.push({
      id: "proxies.too-broad",
      severity: exposed ? "critical" : "warn",
      message: `gateway.trustedProxies trusts ${broadProxies.join(", ")}: any client can claim any address in X-Forwarded-For (and escape rate limits)`,
      fix: `list only your reverse proxy's own address in gateway.trustedProxies in ${where}`
    })
  }
  if (config.allowedOrigins.includes("*")) {
    findings.push({
      id: "origins.wildcard",
      severity: exposed || config.authMode.value === "none" ? "critical" : "warn",
      message: "gateway.controlUi.allowedOrigins contains \"*\": any web page a user visits may drive the gateway with their browser",
      fix: `list the exact origins of your Control UI instead (scheme, host and port, e.g. https://gw.example:18789) in ${where}`
    })
  } else if (exposed && config.allowedOrigins.length === 0) {
    findings.push({
      id: "origins.none",
      severity: "warn",
      message: "a browser UI can reach this gateway from other machines but gateway.controlUi.allowedOrigins is empty: " +
        "only pages served from the gateway's own address are accepted, and people tend to \"fix\" that with \"*\"",
      fix: `list the exact origin(s) your Control UI is opened from in gateway.controlUi.allowedOrigins in ${where}`
    })
  }
  for (const [name, length] of [["token", input.tokenLength], ["password", input.passwordLength]] as const) {
    if (length === undefined || length >= MIN_SECRET_LENGTH) continue
    const inUse = config.authMode.value === name
    findings.push({
      id: `secret.short-${name}`,
      severity: exposed && inUse ? "critical" : "warn",
      message: `the gateway ${name} is ${length} characters long (fewer than ${MIN_SECRET_LENGTH}): short enough to guess`,
      fix: name === "token"
        ? `remove gateway.auth.token to let the gateway generate one, or set one of ${MIN_SECRET_LENGTH}+ random characters (openssl rand -hex 24)`
        : `set a password of ${MIN_SECRET_LENGTH}+ characters (openssl rand -base64 24), or switch to token auth`
    })
  }
  for (const p of input.paths) {
    if (p.mode === undefined) continue
    const want = p.kind === "dir" ? 0o700 : 0o600
    const open = p.mode & 0o077
    if (open === 0) continue
    const world = (p.mode & 0o007) !== 0
    findings.push({
      id: world ? "file.world-accessible" : "file.group-accessible",
      severity: world ? "critical" : "warn",
      message: `${p.what} ${p.path} is ${world ? "readable by every user" : "readable by its group"} (mode ${octal(p.mode)})`,
      fix: `chmod ${octal(want)} ${p.path}`,
      autoFix: { path: p.path, mode: (p.mode & 0o700) | (p.kind === "dir" ? 0o700 : 0o600) }
    })
  }
  if (config.discovery.mdnsMode.value === "full") {
    findings.push({
      id: "mdns.full",
      severity: "warn",
      message: "mDNS is in full mode: the LAN learns this host's CLI path, SSH port and display name",
      fix: `set discovery.mdns.mode: "minimal" in ${where} (or "off")`
    })
  }
  const dangerous = config.nodeCommands.allowCommands.filter((c) => c === "*" || DANGEROUS.some((d) => matches(d, c) || matches(c, d)))
  if (dangerous.length > 0) {
    const runsCode = dangerous.some((c) => c === "*" || matches(c, "system.run"))
    findings.push({
      id: "nodes.dangerous-commands",
      severity: runsCode && exposed ? "critical" : "warn",
      message: `gateway.nodes.allowCommands allows ${dangerous.join(", ")}: ` +
        (runsCode ? "any operator (or stolen operator token) can run programs on every paired node" : "operators can capture or write personal data on nodes"),
      fix: `remove them from gateway.nodes.allowCommands in ${where} unless you need them; keep each node's node.run.allow short`
    })
  }
  // The same list the node host warns with at start, so the two never disagree.
  const runners = codeRunners(config.file.config.node?.run?.allow ?? [])
  if (runners.length > 0) {
    findings.push({
      id: "node.run.code-runners",
      severity: "warn",
      message: `node.run.allow lets system.run start ${runners.join(", ")}, which run their arguments as code: effectively any command`,
      fix: `allow the specific programs you need instead, in node.run.allow in ${where}`
    })
  }
  if (config.autoApproveLocal && input.sshListening) {
    findings.push({
      id: "pairing.auto-approve-local-ssh",
      severity: "warn",
      message: "gateway.pairing.autoApproveLocal is on and an SSH server listens on this host: any account that can log in " +
        "(or open an SSH forward) connects as a local client and gets its devices approved without asking",
      fix: `set gateway.pairing.autoApproveLocal: false in ${where} and approve devices with gatehouse devices approve`
    })
  }
  const agent = config.agent
  if (agent.provider === "openai" && new URL(agent.baseUrl).protocol === "http:") {
    const host = new URL(agent.baseUrl).hostname.replace(/^\[|\]$/g, "")
    if (host !== "localhost" && !isLoopbackIp(host)) {
      findings.push({
        id: "agent.insecure-http",
        severity: "warn",
        message: `the model base URL ${agent.baseUrl} is plain http to another host (allowed by GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP=1): ` +
          "the model API key and every message cross the network in clear",
        fix: `use an https:// models.providers.${agent.providerId}.baseUrl in ${where}, or reach the model server over an SSH forward or a tailnet`
      })
    }
  }
  // OTLP headers usually carry the collector's API key; spans name methods and peers.
  const otel = config.file.config.diagnostics?.otel
  const otelUrl = otel?.endpoint === undefined || otel.enabled === false ? undefined : URL.parse(otel.endpoint.trim())
  if (otelUrl != null && otelUrl.protocol === "http:" && otelUrl.hostname !== "localhost" && !isLoopbackIp(otelUrl.hostname.replace(/^\[|\]$/g, ""))) {
    findings.push({
      id: "otel.plain-http",
      severity: "warn",
      message: `diagnostics.otel.endpoint sends traces and metrics${Object.keys(otel?.headers ?? {}).length > 0 ? " and its headers (an API key, often)" : ""} to ${otelUrl.host} over plain http`,
      fix: `use an https:// endpoint in diagnostics.otel.endpoint in ${where}, or a collector on this host (http://127.0.0.1:4318)`
    })
  }
  const { trustedProxy, allowTailscale } = config.proxyIdentity
  if (config.authMode.value === "trusted-proxy" && trustedProxy.allowUsers.length === 0) {
    findings.push({
      id: "auth.trusted-proxy-any-user",
      severity: "warn",
      message: "auth mode trusted-proxy admits every user your proxy authenticates (gateway.auth.trustedProxy.allowUsers is empty), " +
        "and anything that reaches the port from a trusted proxy address can name any user",
      fix: `list the users who may operate this gateway in gateway.auth.trustedProxy.allowUsers in ${where}, and firewall the port to the proxy`
    })
  }
  if (allowTailscale) {
    findings.push({
      id: "auth.tailscale-identity",
      severity: "info",
      message: "gateway.auth.allowTailscale admits every tailnet user Tailscale Serve forwards (confirmed with tailscale whois) without the token",
      fix: `keep Tailscale ACLs tight, or set gateway.auth.allowTailscale: false in ${where}`
    })
  }
  const rank: Record<Severity, number> = { critical: 0, warn: 1, info: 2 }
  return findings.sort((a, b) => rank[a.severity] - rank[b.severity])
}

/** A mode as `0644`. */
export const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`
