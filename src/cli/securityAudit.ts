/**
 * `gatehouse security audit [--json] [--fix]`: risky settings of this profile,
 * each with its fix (checks in `config/audit.ts`). `--fix` applies the safe ones
 * (file and directory modes) and says what it changed; `--json` prints one JSON
 * document. Secrets are never printed, only their lengths are looked at.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { closeSync, constants, fchmodSync, fstatSync, openSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { audit, type Finding, octal, type StatePath } from "../config/audit.ts"
import { generatedTokenPath } from "../config/resolve.ts"
import { deviceAuthPath } from "../identity/deviceAuthStore.ts"
import { identityPath } from "../identity/deviceIdentity.ts"
import { journalPath } from "../fs/journalStore.ts"
import { nodeStateDir } from "../identity/nodeIdentity.ts"
import { nodePairingPath, pairingPath } from "../layers/PairingStoreFile.ts"
import { pinsPath } from "../layers/PinStoreFile.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

export const securityAudit = Command.make(
  "audit",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print one JSON document for scripts"), Flag.withDefault(false)),
    fix: Flag.Boolean("fix").pipe(Flag.withDescription("Apply the safe fixes (file modes 0600/0700) and say what changed"), Flag.withDefault(false))
  },
  (f) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const gc = yield* GatewayConfig.make({ profile: Option.getOrUndefined(shared.profile), dev: shared.dev }, process.env)
        const secrets = yield* gc.secrets
        const { config } = gc
        const before = audit({
          config,
          host: gc.host,
          tokenLength: secrets.token === undefined ? undefined : Redacted.value(secrets.token.value).length,
          passwordLength: secrets.password === undefined ? undefined : Redacted.value(secrets.password.value).length,
          paths: statePaths(config.paths.stateDir, config.paths.configPath, generatedTokenPath(config.paths), config.tls.keyPath),
          sshListening: sshListening()
        })
        const fixed: Array<{ path: string; from: string; to: string }> = []
        const failed: Array<{ path: string; error: string }> = []
        if (f.fix) {
          for (const finding of before) {
            if (finding.autoFix === undefined) continue
            const { path, mode } = finding.autoFix
            const changed = Result.try(() => chmodNoFollow(path, mode))
            if (Result.isSuccess(changed)) fixed.push({ path, from: octal(changed.success), to: octal(mode) })
            else failed.push({ path, error: changed.failure instanceof Error ? changed.failure.message : String(changed.failure) })
          }
        }
        const done = new Set(fixed.map((x) => x.path))
        const findings = before.filter((x) => x.autoFix === undefined || !done.has(x.autoFix.path))
        const count = (s: Finding["severity"]) => findings.filter((x) => x.severity === s).length
        const summary = { critical: count("critical"), warn: count("warn"), info: count("info") }
        if (f.json) {
          return yield* printJson({
            ok: true,
            profile: config.paths.profile ?? "default",
            summary,
            findings: findings.map(({ autoFix, ...rest }) => ({ ...rest, autoFixable: autoFix !== undefined })),
            fixed,
            ...(failed.length === 0 ? {} : { fixFailed: failed })
          })
        }
        const lines: Array<string> = []
        for (const x of fixed) lines.push(`fixed     ${x.path}: mode ${x.from} → ${x.to}`)
        for (const x of failed) lines.push(`not fixed ${x.path}: ${x.error}`)
        for (const x of findings) {
          lines.push(`${x.severity.toUpperCase().padEnd(9)} ${x.message}`)
          lines.push(`          fix: ${x.fix}${x.autoFix === undefined || f.fix ? "" : " (gatehouse security audit --fix does this)"}`)
        }
        lines.push(
          findings.length === 0
            ? "no risky settings found"
            : `${summary.critical} critical, ${summary.warn} warning${summary.warn === 1 ? "" : "s"}`
        )
        yield* Console.log(lines.join("\n"))
      }),
      f.json
    )
).pipe(Command.withDescription("List risky settings with the fix for each (--fix applies the safe ones: file modes)"))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// Through a descriptor opened without following links: a link planted in a loose state dir
// must not get its target's mode changed. Returns the mode it had.
const chmodNoFollow = (path: string, mode: number): number => {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const from = fstatSync(fd).mode
    fchmodSync(fd, mode)
    return from
  } finally {
    closeSync(fd)
  }
}

const modeOf = (path: string): number | undefined => Result.getOrUndefined(Result.try(() => statSync(path).mode & 0o777))

// Everything under the state dir that holds a secret or decides who is trusted.
const statePaths = (stateDir: string, configPath: string, tokenPath: string, tlsKeyPath: string | undefined): ReadonlyArray<StatePath> => {
  const entry = (path: string, what: string, kind: "file" | "dir"): StatePath => ({ path, what, kind, mode: modeOf(path) })
  return [
    entry(stateDir, "the state directory", "dir"),
    entry(configPath, "the config file", "file"),
    entry(tokenPath, "the gateway token", "file"),
    entry(join(stateDir, "devices"), "the device pairing directory", "dir"),
    entry(pairingPath(stateDir), "the device pairing file", "file"),
    entry(journalPath(pairingPath(stateDir)), "the device pairing journal", "file"),
    entry(join(stateDir, "nodes"), "the node pairing directory", "dir"),
    entry(nodePairingPath(stateDir), "the node pairing file", "file"),
    entry(journalPath(nodePairingPath(stateDir)), "the node pairing journal", "file"),
    entry(join(stateDir, "identity"), "the identity directory", "dir"),
    entry(identityPath(stateDir), "the CLI's device key", "file"),
    entry(deviceAuthPath(stateDir), "the CLI's device tokens", "file"),
    entry(identityPath(stateDir, "gateway"), "the gateway's own device key", "file"),
    entry(join(nodeStateDir(stateDir), "identity"), "the node host's identity directory", "dir"),
    entry(identityPath(nodeStateDir(stateDir)), "the node host's device key", "file"),
    entry(deviceAuthPath(nodeStateDir(stateDir)), "the node host's device tokens", "file"),
    entry(join(stateDir, "tls"), "the TLS directory", "dir"),
    entry(tlsKeyPath ?? join(stateDir, "tls", "gateway-key.pem"), "the TLS private key", "file"),
    entry(pinsPath(stateDir), "the TLS pins", "file"),
    entry(join(stateDir, "logs"), "the log directory", "dir"),
    entry(join(stateDir, "logs", "gateway.log"), "the gateway log", "file")
  ]
}

// Whether something listens on TCP port 22 (an SSH server), from /proc (no connection is made).
const sshListening = (): boolean => {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    // Not Linux, or /proc not mounted: unknown, reported as not listening.
    const rows = Result.getOrElse(Result.try(() => readFileSync(table, "utf8").split("\n").slice(1)), () => [] as Array<string>)
    // local_address is "ADDR:PORT" in hex; state 0A is LISTEN.
    if (rows.some((row) => {
      const cols = row.trim().split(/\s+/)
      return cols[1]?.endsWith(":0016") === true && cols[3] === "0A"
    })) return true
  }
  return false
}
