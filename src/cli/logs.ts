/**
 * `gatehouse logs [--limit N] [--follow] [--json]`: the gateway's recent log
 * lines through `logs.tail`. `--follow` keeps one session open and polls with
 * the cursor until interrupted, so each line is printed once. Lines come from
 * the gateway (another host, perhaps), so they are shown through `printable`.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { openSession } from "../programs/gatewayClient.ts"
import { LogsTail, type LogsTailResult } from "../protocol/rpcs/logs.ts"
import { printable } from "../text/printable.ts"
import { withTransport, target, type TargetInput } from "./clientCommands.ts"
import { printJson, reportFailures } from "./output.ts"
import { targetFlags } from "./targetFlags.ts"

const flags = {
  ...targetFlags,
  limit: Flag.Int("limit").pipe(Flag.withDescription("Most lines to print (1-5000)"), Flag.withDefault(200)),
  follow: Flag.Boolean("follow").pipe(
    Flag.withDescription("Keep printing new lines until Ctrl-C; with --json, one JSON record per line (JSON Lines), not one document"),
    Flag.withDefault(false)
  ),
  interval: Flag.Int("interval").pipe(Flag.withDescription("With --follow: milliseconds between polls"), Flag.withDefault(1000))
}

/** A log line as a record: the gateway's JSON record, or `{ raw }` for a line that is not one. */
export const parseLine = (line: string): Record<string, unknown> => {
  const parsed = Result.try(() => JSON.parse(line) as unknown)
  return Result.isSuccess(parsed) && typeof parsed.success === "object" && parsed.success !== null && !Array.isArray(parsed.success)
    ? parsed.success as Record<string, unknown>
    : { raw: line }
}

/** A log line for a person: `time level message`, every field made printable. */
export const formatLine = (line: string): string => {
  const r = parseLine(line)
  if ("raw" in r) return printable(String(r.raw), 4096)
  const field = (v: unknown) => (typeof v === "string" ? printable(v, 4096) : "")
  return [field(r.time), field(r.level).toUpperCase().padEnd(5), field(r.message)].filter((s) => s.trim() !== "").join(" ")
}

const notices = (slice: LogsTailResult) =>
  Effect.gen(function*() {
    if (slice.reset) yield* Console.error("(log cursor reset: the gateway restarted or dropped lines since the last poll)")
    else if (slice.truncated) yield* Console.error("(log tail truncated: older lines were dropped; raise --limit to see more)")
  })

const body = (f: TargetInput & { readonly json: boolean; readonly timeout: number; readonly limit: number; readonly follow: boolean; readonly interval: number }) =>
  Effect.gen(function*() {
    if (f.limit < 1 || f.limit > 5000) return yield* Effect.fail({ message: "--limit must be between 1 and 5000.\nFix: e.g. `gatehouse logs --limit 200`", code: "INVALID_ARGUMENT" })
    if (f.interval < 100) return yield* Effect.fail({ message: "--interval must be at least 100 ms.\nFix: e.g. `--interval 1000`", code: "INVALID_ARGUMENT" })
    const t = yield* target(f)
    yield* Effect.scoped(Effect.gen(function*() {
      const session = yield* openSession(t, { timeoutMs: f.timeout })
      const first = yield* session.call(LogsTail, { limit: f.limit })
      if (!f.follow) {
        if (f.json) return yield* printJson({ ok: true, ...(first.file === undefined ? {} : { file: first.file }), cursor: first.cursor, truncated: first.truncated, reset: first.reset, lines: first.lines.map(parseLine) })
        if (first.file !== undefined) yield* Console.error(`Log file: ${printable(first.file)}`)
        for (const line of first.lines) yield* Console.log(formatLine(line))
        return yield* notices(first)
      }
      let slice = first
      for (;;) {
        for (const line of slice.lines) yield* Console.log(f.json ? JSON.stringify(parseLine(line)) : formatLine(line))
        if (!f.json) yield* notices(slice)
        yield* Effect.sleep(Duration.millis(f.interval))
        slice = yield* session.call(LogsTail, { cursor: slice.cursor, limit: 5000 })
      }
    }))
  })

export const logs = Command.make("logs", flags, (f) => reportFailures(body(f), f.json)).pipe(
  withTransport,
  Command.withDescription("Print the gateway's recent log lines (logs.tail); --follow keeps printing new ones")
)
