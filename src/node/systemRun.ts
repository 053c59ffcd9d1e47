/**
 * `system.run` on a node: argv only (no shell), only programs on the node's own
 * allowlist (resolved to absolute paths), with a timeout that kills the process
 * group and a cap on captured output. Processes that leave the group (`setsid`,
 * a double fork) are still ended: the command runs in its own PID namespace
 * where `unshare` allows it, and everything carrying the run's marker in its
 * environment is killed when the command ends (see `runTracker.ts`).
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { spawn } from "node:child_process"
import { resolveProgram } from "./programResolve.ts"
import { killMarked, newRunMarker, pidNamespacePrefix, RUN_MARKER_ENV } from "./runTracker.ts"

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
 * What a program's environment is built from: only these names, taken from the
 * node's own environment, plus the caller's values for the same kind of names.
 * An allowlist, not a denylist: loader and interpreter hooks (`LD_*`, `NODE_OPTIONS`,
 * `BASH_FUNC_*%%`, `PYTHONSTARTUP`, `GIT_*` …) never reach the program, whatever
 * their name, unless they appear here.
 */
const INHERITED_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TERM|TZ|LANG|LANGUAGE|LC_[A-Z]+)$/

/** Names a caller may set: presentation only (locale, terminal, time zone, colour). */
const CALLER_ENV = /^(TERM|TZ|LANG|LANGUAGE|LC_[A-Z]+|COLUMNS|LINES|NO_COLOR|FORCE_COLOR|CLICOLOR)$/

/** Programs that run their arguments (or files they name) as code: allowing one allows anything. */
const RUNS_CODE = /^(env|su|sed|npm|npx|sh|bash|dash|zsh|fish|ksh|csh|tcsh|busybox|python[0-9.]*|node|nodejs|deno|bun|perl|ruby|php|lua[0-9.]*|tclsh|awk|gawk|mawk|find|xargs|git|make|ssh|sudo|doas|nohup|setsid|timeout|nice|watch|docker|podman|systemd-run|script|expect)$/

/** The allowed programs that can run arbitrary code through their arguments, for a warning at start. */
export const codeRunners = (allowed: Iterable<string>): ReadonlyArray<string> =>
  [...allowed].filter((p) => RUNS_CODE.test(p.slice(p.lastIndexOf("/") + 1)))

/** The environment a checked program runs with. */
export const programEnv = (own: NodeJS.ProcessEnv, requested: Readonly<Record<string, string>> | undefined): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(own)) if (v !== undefined && INHERITED_ENV.test(k)) env[k] = v
  for (const [k, v] of Object.entries(requested ?? {})) if (CALLER_ENV.test(k)) env[k] = v
  return env
}

/** Checks a run request against the allowlist; returns the program to run or a refusal. */
export const checkRun = (params: RunParams, allowed: ReadonlySet<string>): { readonly program: string } | NodeCommandError => {
  const [name] = params.command
  if (name === undefined || name.length === 0) {
    return { code: "INVALID_PARAMS", message: "system.run needs params.command: an argv array such as [\"echo\", \"hi\"] (no shell)" }
  }
  const strings = [...params.command, params.cwd ?? "", ...Object.entries(params.env ?? {}).flat()]
  if (strings.some((x) => x.includes("\u0000"))) return { code: "INVALID_PARAMS", message: "system.run: arguments, cwd and env may not contain NUL bytes" }
  const forbidden = Object.keys(params.env ?? {}).filter((k) => !CALLER_ENV.test(k))
  if (forbidden.length > 0) {
    return {
      code: "NOT_ALLOWED",
      message: `system.run: setting ${forbidden.slice(0, 5).join(", ")}${forbidden.length > 5 ? ", …" : ""} is not allowed; ` +
        "env may only set locale, terminal, time zone and colour variables (LANG, LC_*, TERM, TZ, COLUMNS, LINES, NO_COLOR)"
    }
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

/** How a run is contained: `auto` uses a PID namespace when available; `group` only the process group and the marker sweep. */
export type Containment = "auto" | "group"

/** Runs a checked program and collects its output; the timeout is measured with the Effect clock. */
export const runProgram = (program: string, params: RunParams, containment: Containment = "auto"): Effect.Effect<RunResult> =>
  Effect.gen(function*() {
    const timeoutMs = Math.min(Math.max(params.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS, 1), MAX_RUN_TIMEOUT_MS)
    const marker = newRunMarker()
    const prefix = containment === "auto" ? pidNamespacePrefix() : []
    const argv = [...prefix, program, ...params.command.slice(1)]
    const spawned = Result.try(() =>
      spawn(argv[0]!, argv.slice(1), {
        cwd: params.cwd,
        env: { ...programEnv(process.env, params.env), [RUN_MARKER_ENV]: marker },
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
    // Whatever the command started and left behind, in or out of its group, ends with it.
    // Swept again until a pass finds nothing: a process may fork during a pass, and a killed one
    // stays visible until the kernel has ended it. Bounded: at most 50 passes, 10 ms apart.
    const sweep = Effect.sync(() => killMarked(marker)).pipe(
      Effect.repeat({ while: (killed) => killed > 0, schedule: Schedule.spaced("10 millis"), times: 50 }),
      Effect.asVoid
    )
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
      Effect.onInterrupt(() => Effect.andThen(Effect.andThen(killGroup, sweep), stopReading))
    )
    yield* sweep
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
