/**
 * Finding the processes a `system.run` command started, wherever they went. A
 * process group is not enough: `setsid` or a double fork leaves it, and the
 * orphan is re-parented away from the command's tree. Two nets, Linux only:
 * a PID namespace per run (`unshare --pid --fork --kill-child`: when the
 * command's namespace ends, the kernel kills everything inside it), used when
 * this host allows it; and a random marker in each run's environment, which
 * descendants inherit, swept from `/proc` when the command ends.
 */
import * as Result from "effect/Result"
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { resolveProgram } from "./programResolve.ts"

/** The environment variable that carries a run's marker. */
export const RUN_MARKER_ENV = "GATEHOUSE_RUN_ID"

/** A fresh marker for one run. */
export const newRunMarker = (): string => randomBytes(12).toString("hex")

/** The argv prefix that runs a command in its own PID namespace, or none where `unshare` is not permitted. */
export const pidNamespacePrefix = (): ReadonlyArray<string> => {
  if (cachedPrefix === undefined) cachedPrefix = probeUnshare()
  return cachedPrefix
}

/** Kills (SIGKILL) every process whose environment carries `marker`; returns how many. */
export const killMarked = (marker: string): number => {
  if (process.platform !== "linux") return 0
  const needle = Buffer.from(`\u0000${RUN_MARKER_ENV}=${marker}\u0000`)
  const first = Buffer.from(`${RUN_MARKER_ENV}=${marker}\u0000`)
  const pids = Result.getOrElse(Result.try(() => readdirSync("/proc")), () => [] as Array<string>)
  let killed = 0
  for (const entry of pids) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const environ = Result.try(() => readFileSync(`/proc/${entry}/environ`))
    if (Result.isFailure(environ)) continue
    const env = environ.success
    if (env.indexOf(needle) === -1 && !env.subarray(0, first.length).equals(first)) continue
    if (Result.isSuccess(Result.try(() => process.kill(Number(entry), "SIGKILL")))) killed++
  }
  return killed
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

let cachedPrefix: ReadonlyArray<string> | undefined

// Whether `unshare --pid --fork --kill-child` works here (root, or a kernel allowing it); checked once.
const probeUnshare = (): ReadonlyArray<string> => {
  if (process.platform !== "linux") return []
  const unshare = resolveProgram("unshare")
  if (unshare === undefined) return []
  const prefix = [unshare, "--pid", "--fork", "--kill-child", "--"]
  const probe = Result.try(() => spawnSync(unshare, [...prefix.slice(1), "/bin/true"], { stdio: "ignore", timeout: 2_000 }))
  return Result.isSuccess(probe) && probe.success.status === 0 ? prefix : []
}
