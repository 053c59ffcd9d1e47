/**
 * `gatehouse gateway restart`: through systemd (`systemctl --user restart`) when
 * this profile's unit is installed, else by the PID in the profile lock: SIGTERM,
 * wait until the lock is free, then start the gateway again detached, with the
 * command line, environment and working directory it ran with (read from /proc;
 * `gatehouse [--profile P] gateway run` where /proc is not there), its output
 * appended to `<state dir>/gateway.log`. Either way it waits until the new
 * gateway holds the lock and accepts connections on its port.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { spawn } from "node:child_process"
import { closeSync, openSync, readFileSync, readlinkSync } from "node:fs"
import { join, resolve } from "node:path"
import { ConfigError } from "../config/errors.ts"
import { profilePaths } from "../config/paths.ts"
import { tcpReachable } from "../net/probe.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { systemctl, unitInstalled, unitName } from "./serviceUnit.ts"
import { stopByLock } from "./stopByLock.ts"

/** How a gateway process was started: what `restart` runs again. */
export interface LaunchSpec {
  readonly argv: ReadonlyArray<string>
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
}

/** The command line, environment and directory of a running process (Linux /proc), if readable. */
export const launchSpecOf = (pid: number): LaunchSpec | undefined => {
  const read = Result.try(() => ({
    argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a.length > 0),
    env: Object.fromEntries(
      readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((e) => e.includes("=")).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])
    ),
    cwd: readlinkSync(`/proc/${pid}/cwd`)
  }))
  return Result.isSuccess(read) && read.success.argv.length > 0 ? read.success : undefined
}

/** Starts a gateway detached from this process, its output appended to `logPath`; returns its pid. */
export const startDetached = (spec: LaunchSpec, logPath: string): Effect.Effect<number, ConfigError> =>
  Effect.suspend(() => {
    const opened = Result.try(() => openSync(logPath, "a", 0o600))
    if (Result.isFailure(opened)) {
      return Effect.fail(new ConfigError({ reason: "refused", message: `cannot open ${logPath} for the gateway's log: ${String(opened.failure)}` }))
    }
    const [cmd, ...args] = spec.argv
    const child = spawn(cmd!, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ["ignore", opened.success, opened.success] })
    closeSync(opened.success)
    child.unref()
    return child.pid === undefined
      ? Effect.fail(new ConfigError({ reason: "refused", message: `could not start ${cmd}; see ${logPath}` }))
      : Effect.succeed(child.pid)
  })

/** Waits until a gateway other than `previousPid` holds the lock and its port accepts connections. */
export const awaitListening = (stateDir: string, previousPid: number | undefined, timeoutMs: number) =>
  Effect.gen(function*() {
    const lock = yield* readLiveLock(stateDir)
    if (lock === undefined || lock.pid === previousPid) return undefined
    // Port 0 (the system chose one): the lock cannot say which, so holding the lock is all there is to wait for.
    if (lock.port !== 0 && !(yield* tcpReachable(`ws://127.0.0.1:${lock.port}`, 1_000))) return undefined
    return lock
  }).pipe(
    Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (lock) => lock !== undefined }),
    Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.succeed(undefined) })
  )

export const gatewayRestart = Command.make(
  "restart",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false)),
    timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds to wait for the stop and for the new gateway to listen"), Flag.withDefault(30_000))
  },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const profile = shared.dev ? "dev" : Option.getOrUndefined(shared.profile)
        const { stateDir } = profilePaths(profile, process.env)
        const name = unitName(profile)
        const before = yield* readLiveLock(stateDir)
        if (unitInstalled(name)) {
          const r = yield* systemctl(["restart", name])
          if (r.missing || r.code !== 0) {
            return yield* new ConfigError({
              reason: "refused",
              message: `systemctl --user restart ${name} failed${r.missing ? " (no systemctl on PATH)" : `: ${r.stderr.trim() || `exit ${r.code}`}`}` +
                `\nFix: check \`systemctl --user status ${name}\` and \`journalctl --user -u ${name}\`, or remove the unit with \`gatehouse gateway uninstall-service\``
            })
          }
          const up = yield* awaitListening(stateDir, before?.pid, flags.timeout)
          if (up === undefined) {
            return yield* new ConfigError({
              reason: "refused",
              message: `systemd restarted ${name} but no gateway is listening after ${flags.timeout} ms\nFix: see \`journalctl --user -u ${name} -n 50\``
            })
          }
          if (flags.json) return yield* printJson({ ok: true, via: "systemd", unit: name, pid: up.pid, port: up.port, previousPid: before?.pid ?? null })
          return yield* Console.log(`Restarted ${name} through systemd (pid ${up.pid}, port ${up.port}).`)
        }
        if (before === undefined) {
          return yield* new ConfigError({
            reason: "refused",
            message: `no gateway is running for this profile (${stateDir}) and no systemd unit ${name} is installed, so there is nothing to restart` +
              `\nFix: start it with \`gatehouse${profile === undefined ? "" : ` --profile ${profile}`} gateway run\``
          })
        }
        // Read before it stops: /proc forgets a process once it exits.
        const spec = launchSpecOf(before.pid) ?? {
          argv: [process.execPath, resolve(process.argv[1] ?? "bin/gatehouse"), ...(profile === undefined ? [] : ["--profile", profile]), "gateway", "run"],
          env: process.env,
          cwd: process.cwd()
        }
        yield* stopByLock(stateDir, before.pid, flags.timeout, "restart")
        const logPath = join(stateDir, "gateway.log")
        const pid = yield* startDetached(spec, logPath)
        const up = yield* awaitListening(stateDir, before.pid, flags.timeout)
        if (up === undefined) {
          return yield* new ConfigError({
            reason: "refused",
            message: `the gateway was stopped and started again (pid ${pid}) but is not listening after ${flags.timeout} ms\nFix: see ${logPath}`
          })
        }
        if (flags.json) return yield* printJson({ ok: true, via: "pid", pid: up.pid, port: up.port, previousPid: before.pid, log: logPath })
        yield* Console.log(`Restarted the gateway (pid ${before.pid} → ${up.pid}, port ${up.port}); its output goes to ${logPath}.`)
      }),
      flags.json
    )
).pipe(Command.withDescription("Restart this profile's gateway (through systemd when its unit is installed) and wait until it listens"))
