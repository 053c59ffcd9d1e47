/**
 * `gatehouse config set <key> <value>` and `config unset <key>`: change one key of
 * openclaw.json, keeping every other key (unknown ones included). The new file
 * must pass the same checks the gateway makes at start, or nothing is written; it
 * is written atomically. The JSON5 library cannot keep comments, so a file that
 * had any is first copied to `openclaw.json.bak`, and the command says so.
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import JSON5 from "json5"
import { readFile } from "node:fs/promises"
import { ConfigError } from "../config/errors.ts"
import { profilePaths } from "../config/paths.ts"
import { decodeFileConfig } from "../config/schema.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false))
const key = Argument.String("key").pipe(Argument.withDescription("A dotted key, e.g. gateway.pairing.autoApproveLocal"))

/** `document` with `path` set to `value` (or removed when `value` is undefined); copies, never mutates. */
export const withKey = (document: unknown, path: ReadonlyArray<string>, value: unknown): Record<string, unknown> => {
  const base: Record<string, unknown> = typeof document === "object" && document !== null && !Array.isArray(document) ? { ...document as Record<string, unknown> } : {}
  const [head, ...rest] = path
  if (head === undefined) return base
  if (rest.length === 0) {
    if (value === undefined) delete base[head]
    else Object.defineProperty(base, head, { value, enumerable: true, writable: true, configurable: true })
    return base
  }
  const child = withKey(Object.hasOwn(base, head) ? base[head] : {}, rest, value)
  Object.defineProperty(base, head, { value: child, enumerable: true, writable: true, configurable: true })
  return base
}

const change = (flags: { readonly key: string; readonly json: boolean }, value: unknown) =>
  Effect.gen(function*() {
    const shared = yield* root
    const { configPath } = profilePaths(shared.dev ? "dev" : Option.getOrUndefined(shared.profile), process.env)
    const path = flags.key.split(".")
    if (path.some((k) => k === "" || k === "__proto__" || k === "constructor" || k === "prototype")) {
      return yield* new ConfigError({ reason: "invalid", message: `"${flags.key}" is not a config key` })
    }
    const text = yield* Effect.promise(() => readFile(configPath, "utf8").catch(() => undefined))
    const parsed = text === undefined || text.trim() === "" ? Result.succeed({} as unknown) : Result.try(() => JSON5.parse(text) as unknown)
    if (Result.isFailure(parsed)) {
      return yield* new ConfigError({ reason: "malformed", message: `${configPath} is not valid JSON5; fix it first (\`gatehouse config validate\`)` })
    }
    const next = withKey(parsed.success, path, value)
    const checked = decodeFileConfig(next)
    if (Result.isFailure(checked)) {
      return yield* new ConfigError({
        reason: "invalid",
        message: `not written: the result would be invalid:\n${checked.failure.map((p) => `  ${p.path || "(root)"}: ${p.message}`).join("\n")}`
      })
    }
    const hadComments = text !== undefined && /\/\/|\/\*/.test(text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ""))
    if (hadComments) yield* writeFileAtomic(`${configPath}.bak`, text)
    yield* writeFileAtomic(configPath, JSON.stringify(next, null, 2) + "\n")
    const unused = checked.success.unknownKeys.filter((k) => k === flags.key || k.startsWith(`${flags.key}.`))
    if (flags.json) return yield* printJson({ ok: true, path: configPath, key: flags.key, ...(value === undefined ? { unset: true } : { value }), backup: hadComments ? `${configPath}.bak` : undefined, unusedKey: unused.length > 0 })
    yield* Console.log([
      value === undefined ? `Removed ${flags.key} from ${configPath}` : `Set ${flags.key} in ${configPath}`,
      ...(hadComments ? [`(its comments could not be kept; the previous file is ${configPath}.bak)`] : []),
      ...(unused.length > 0 ? [`note: gatehouse does not use ${flags.key}; it is kept for OpenClaw`] : []),
      "A running gateway reads it at its next start."
    ].join("\n"))
  })

export const configSet = Command.make(
  "set",
  { json, key, value: Argument.String("value").pipe(Argument.withDescription("JSON5 (true, 18800, [\"a\"], {…}) or plain text")) },
  (f) => {
    const parsed = Result.try(() => JSON5.parse(f.value) as unknown)
    return reportFailures(change(f, Result.isSuccess(parsed) ? parsed.success : f.value), f.json)
  }
).pipe(Command.withDescription("Set one key of the config file, keeping every other key; refused if the result is invalid"))

export const configUnset = Command.make("unset", { json, key }, (f) => reportFailures(change(f, undefined), f.json)).pipe(
  Command.withDescription("Remove one key from the config file")
)
