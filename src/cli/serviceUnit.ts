/**
 * The systemd user unit of a profile's gateway: its name and path (shared by
 * `install-service`, `uninstall-service`, `restart` and `status`), and running
 * `systemctl --user` (whatever `systemctl` is first on PATH) with its outcome.
 */
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { readLiveLock } from "../programs/profileLock.ts"

/** The unit's file name for a profile (`gatehouse.service`, `gatehouse-<profile>.service`). */
export const unitName = (profile: string | undefined) => (profile === undefined ? "gatehouse.service" : `gatehouse-${profile}.service`)

/** Where `install-service` writes the unit. */
export const unitPath = (name: string, env: NodeJS.ProcessEnv = process.env) =>
  join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config"), "systemd", "user", name)

/** Whether the profile's unit file is installed. */
export const unitInstalled = (name: string) => existsSync(unitPath(name))

/** What one `systemctl --user …` did; `missing` when there is no systemctl to run. */
export interface SystemctlResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly missing: boolean
}

/** Runs `systemctl --user <args>`; never fails (the result says what happened). */
export const systemctl = (args: ReadonlyArray<string>, timeoutMs = 60_000): Effect.Effect<SystemctlResult> =>
  Effect.callback<SystemctlResult>((resume) => {
    const child = execFile("systemctl", ["--user", ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null
      resume(Effect.succeed({
        code: e === null ? 0 : typeof e.code === "number" ? e.code : 1,
        stdout: String(stdout),
        stderr: String(stderr),
        missing: e !== null && e.code === "ENOENT"
      }))
    })
    return Effect.sync(() => child.kill())
  })

/** What this host knows of a profile's gateway without talking to it: the unit and the process holding the lock. */
export interface ServiceFacts {
  readonly unit: string
  readonly installed: boolean
  /** `systemctl --user is-active` (only when installed; "unknown" without systemd). */
  readonly active?: string | undefined
  /** `systemctl --user is-enabled` (only when installed). */
  readonly enabled?: string | undefined
  readonly running: boolean
  readonly pid?: number | undefined
  readonly port?: number | undefined
}

/** The unit and lock facts of a profile's gateway. */
export const serviceFacts = (profile: string | undefined, stateDir: string): Effect.Effect<ServiceFacts> =>
  Effect.gen(function*() {
    const unit = unitName(profile)
    const installed = unitInstalled(unit)
    const state = (r: SystemctlResult) => (r.missing ? "unknown" : r.stdout.trim() || "unknown")
    const active = installed ? state(yield* systemctl(["is-active", unit], 5_000)) : undefined
    const enabled = installed ? state(yield* systemctl(["is-enabled", unit], 5_000)) : undefined
    const lock = yield* readLiveLock(stateDir)
    return { unit, installed, active, enabled, running: lock !== undefined, pid: lock?.pid, port: lock?.port }
  })

/** One line for people: "gatehouse.service installed, active, enabled · pid 123 on port 18789". */
export const serviceLine = (f: ServiceFacts) =>
  `${f.unit} ${f.installed ? `installed (${f.active ?? "unknown"}, ${f.enabled ?? "unknown"})` : "not installed"} · ` +
  (f.running ? `running, pid ${f.pid} on port ${f.port}` : "no gateway process holds this profile's lock")
