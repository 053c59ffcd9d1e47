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
/** After a timeout kill, how long to wait for the streams to close before giving up on them. */
const KILL_GRACE_MS = 2_000

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

/**
 * Environment variables an operator may not set: each one makes an allowed
 * program load or run other code (loaders, interpreters' startup hooks, PATH).
 */
const FORBIDDEN_ENV = /^(LD_|DYLD_|NODE_|NPM_CONFIG_|GIT_|PYTHON|PERL|RUBY|JAVA_TOOL_OPTIONS$|_JAVA_OPTIONS$|BASH_ENV$|ENV$|PATH$|IFS$|SHELLOPTS$|PS4$|PROMPT_COMMAND$|HOME$)/i

/** Checks a run request against the allowlist; returns the program to run or a refusal. */
export const checkRun = (params: RunParams, allowed: ReadonlySet<string>): { readonly program: string } | NodeCommandError => {
  const [name] = params.command
  if (name === undefined || name.length === 0) {
    return { code: "INVALID_PARAMS", message: "system.run needs params.command: an argv array such as [\"echo\", \"hi\"] (no shell)" }
  }
  const strings = [...params.command, params.cwd ?? "", ...Object.entries(params.env ?? {}).flat()]
  if (strings.some((x) => x.includes("\u0000"))) return { code: "INVALID_PARAMS", message: "system.run: arguments, cwd and env may not contain NUL bytes" }
  const forbidden = Object.keys(params.env ?? {}).filter((k) => FORBIDDEN_ENV.test(k))
  if (forbidden.length > 0) {
    return { code: "NOT_ALLOWED", message: `system.run: setting ${forbidden.join(", ")} is not allowed (it would let the program load other code)` }
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
    const spawned = Result.try(() =>
      spawn(program, params.command.slice(1), {
        cwd: params.cwd,
        env: params.env === undefined ? process.env : { ...process.env, ...params.env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        shell: false
      })
    )
    if (Result.isFailure(spawned)) {
      const message = spawned.failure instanceof Error ? spawned.failure.message : String(spawned.failure)
      return { exitCode: null, signal: null, stdout: "", stderr: message, timedOut: false, truncated: false, success: false }
    }
    const child = spawned.success
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
    interface Ended {
      readonly code: number | null
      readonly signal: string | null
      readonly error?: string
    }
    const finished = new Promise<Ended>((resolve) => {
      child.once("error", (e) => resolve({ code: null, signal: null, error: e.message }))
      child.once("close", (code, signal) => resolve({ code, signal }))
    })
    // Kill the whole process group, even when the direct child already exited: a
    // background grandchild holding stdout must not outlive the timeout.
    const killGroup = Effect.sync(() => {
      if (child.pid === undefined) return
      const group = Result.try(() => process.kill(-child.pid!, "SIGKILL"))
      if (Result.isFailure(group) && child.exitCode === null) child.kill("SIGKILL")
    })
    const stopReading = Effect.sync(() => {
      child.stdout.destroy()
      child.stderr.destroy()
    })
    let timedOut = false
    const ended = yield* Effect.promise(() => finished).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () =>
          Effect.andThen(
            Effect.andThen(Effect.sync(() => void (timedOut = true)), killGroup),
            Effect.promise(() => finished).pipe(
              Effect.timeoutOrElse({
                duration: KILL_GRACE_MS,
                orElse: () => Effect.as(stopReading, { code: child.exitCode, signal: "SIGKILL" } as Ended)
              })
            )
          )
      }),
      Effect.onInterrupt(() => Effect.andThen(killGroup, stopReading))
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
