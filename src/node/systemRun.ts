/**
 * `system.run` on a node: argv only (no shell), only programs on the node's own
 * allowlist (resolved to absolute paths), with a timeout that kills the process
 * group and a cap on captured output.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { spawn } from "node:child_process"
import { resolveProgram } from "./programResolve.ts"

/** Captured bytes per stream at most; the rest is dropped and `truncated` set. */
export const OUTPUT_CAP_BYTES = 1024 * 1024
export const DEFAULT_RUN_TIMEOUT_MS = 30_000
export const MAX_RUN_TIMEOUT_MS = 10 * 60_000

export interface RunParams {
  readonly command: ReadonlyArray<string>
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly timeoutMs?: number | undefined
}

export interface RunResult {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly truncated: boolean
  readonly success: boolean
}

/** A refusal the node reports back to the gateway. */
export interface NodeCommandError {
  readonly code: string
  readonly message: string
}

/** Resolves each allowlist entry (a name on PATH or an absolute path) to the path it permits. */
export const resolveAllowlist = (entries: ReadonlyArray<string>): ReadonlySet<string> =>
  new Set(entries.map((e) => resolveProgram(e)).filter((p): p is string => p !== undefined))

/** Checks a run request against the allowlist; returns the program to run or a refusal. */
export const checkRun = (params: RunParams, allowed: ReadonlySet<string>): { readonly program: string } | NodeCommandError => {
  const [name] = params.command
  if (name === undefined || name.length === 0) {
    return { code: "INVALID_PARAMS", message: "system.run needs params.command: an argv array such as [\"echo\", \"hi\"] (no shell)" }
  }
  const program = resolveProgram(name)
  if (program === undefined) return { code: "NOT_FOUND", message: `system.run: program "${name}" was not found on this node` }
  if (!allowed.has(program)) {
    return {
      code: "NOT_ALLOWED",
      message: `system.run: program "${name}" (${program}) is not on this node's allowlist; the node's owner can allow it with ` +
        `\`gatehouse node run --allow ${name}\` or node.run.allow in the node's config`
    }
  }
  return { program }
}

/** Runs a checked program and collects its output; the timeout is measured with the Effect clock. */
export const runProgram = (program: string, params: RunParams): Effect.Effect<RunResult> =>
  Effect.gen(function*() {
    const timeoutMs = Math.min(Math.max(params.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS, 1), MAX_RUN_TIMEOUT_MS)
    const child = spawn(program, params.command.slice(1), {
      cwd: params.cwd,
      env: params.env === undefined ? process.env : { ...process.env, ...params.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      shell: false
    })
    const out = { stdout: [] as Array<Buffer>, stderr: [] as Array<Buffer>, sizes: { stdout: 0, stderr: 0 }, truncated: false }
    const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const room = OUTPUT_CAP_BYTES - out.sizes[stream]
      const kept = room <= 0 ? undefined : chunk.length > room ? chunk.subarray(0, room) : chunk
      if (kept === undefined || kept.length < chunk.length) out.truncated = true
      if (kept !== undefined) {
        out[stream].push(kept)
        out.sizes[stream] += kept.length
      }
    }
    child.stdout.on("data", collect("stdout"))
    child.stderr.on("data", collect("stderr"))
    const finished = new Promise<{ code: number | null; signal: string | null; error?: string }>((resolve) => {
      child.once("error", (e) => resolve({ code: null, signal: null, error: e.message }))
      child.once("close", (code, signal) => resolve({ code, signal }))
    })
    // Kill the whole process group, so a program's own children go too.
    const killGroup = Effect.sync(() => {
      if (child.pid === undefined || child.exitCode !== null) return
      const group = Result.try(() => process.kill(-child.pid!, "SIGKILL"))
      if (Result.isFailure(group)) child.kill("SIGKILL")
    })
    let timedOut = false
    const ended = yield* Effect.promise(() => finished).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.andThen(Effect.andThen(Effect.sync(() => void (timedOut = true)), killGroup), Effect.promise(() => finished))
      }),
      Effect.onInterrupt(() => killGroup)
    )
    return {
      exitCode: ended.code,
      signal: ended.signal,
      stdout: Buffer.concat(out.stdout).toString("utf8"),
      stderr: ended.error ?? Buffer.concat(out.stderr).toString("utf8"),
      timedOut,
      truncated: out.truncated,
      success: ended.code === 0 && !timedOut
    }
  })
