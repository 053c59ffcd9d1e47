/**
 * The commands a gatehouse node serves: `system.which`, `system.run` (argv only,
 * allowlisted programs) and `system.notify` (logged). Each answers with a payload
 * or a `{code, message}` error the gateway relays to the operator.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { resolveProgram } from "./programResolve.ts"
import { checkRun, type NodeCommandError, type RunParams, runProgram } from "./systemRun.ts"

export const NODE_COMMANDS = ["system.which", "system.run", "system.notify"] as const

export type CommandAnswer = { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly error: NodeCommandError }

const fail = (code: string, message: string): CommandAnswer => ({ ok: false, error: { code, message } })

/** Runs one invoked command with its JSON params. */
export const runCommand = (command: string, paramsJSON: string | null, allowed: ReadonlySet<string>): Effect.Effect<CommandAnswer> =>
  Effect.gen(function*() {
    const parsed = paramsJSON === null ? Result.succeed({}) : Result.try(() => JSON.parse(paramsJSON) as unknown)
    if (Result.isFailure(parsed) || typeof parsed.success !== "object" || parsed.success === null) {
      return fail("INVALID_PARAMS", `${command}: params must be a JSON object`)
    }
    const params = parsed.success as Record<string, unknown>
    switch (command) {
      case "system.which": {
        if (typeof params.name === "string") return { ok: true, payload: { name: params.name, path: resolveProgram(params.name) ?? null } }
        if (Array.isArray(params.bins)) {
          const bins = params.bins.filter((b): b is string => typeof b === "string")
          return { ok: true, payload: { bins: Object.fromEntries(bins.map((b) => [b, resolveProgram(b) ?? null])) } }
        }
        return fail("INVALID_PARAMS", "system.which needs params.name (a program name) or params.bins (names)")
      }
      case "system.run": {
        const argv = params.command
        if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) {
          return fail("INVALID_PARAMS", "system.run needs params.command: an argv array of strings, e.g. [\"echo\", \"hi\"] (no shell)")
        }
        const run: RunParams = {
          command: argv,
          cwd: typeof params.cwd === "string" ? params.cwd : undefined,
          timeoutMs: typeof params.timeoutMs === "number" ? params.timeoutMs : undefined,
          env: isStringRecord(params.env) ? params.env : undefined
        }
        const checked = checkRun(run, allowed)
        if ("code" in checked) return { ok: false, error: checked }
        yield* Effect.logInfo(`system.run ${argv.join(" ")}`)
        return { ok: true, payload: yield* runProgram(checked.program, run) }
      }
      case "system.notify": {
        const title = typeof params.title === "string" ? params.title : "notification"
        const body = typeof params.body === "string" ? params.body : typeof params.message === "string" ? params.message : ""
        yield* Effect.logInfo(`notify: ${title}${body === "" ? "" : ` — ${body}`}`)
        return { ok: true, payload: { delivered: true } }
      }
      default:
        return fail("UNKNOWN_COMMAND", `this node does not serve ${command}`)
    }
  })

const isStringRecord = (u: unknown): u is Record<string, string> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.values(u).every((v) => typeof v === "string")
