/**
 * Reading `openclaw.json`: JSON5, as OpenClaw reads it (comments, trailing
 * commas, unquoted keys), parsed by the `json5` library. A missing file is an
 * empty config; an unreadable, unparsable or wrongly typed one is a ConfigError
 * naming the file and key path.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import JSON5 from "json5"
import { readFile } from "node:fs/promises"
import { ConfigError } from "./errors.ts"
import { type DecodedFile, decodeFileConfig } from "./schema.ts"

export interface LoadedFile extends DecodedFile {
  readonly exists: boolean
  /** The whole document as parsed, unknown keys included (for `config.get`). */
  readonly document: unknown
}

const empty: LoadedFile = { exists: false, document: {}, config: {}, unknownKeys: [] }

/** Loads and decodes a config file. */
export const loadConfigFile = (path: string): Effect.Effect<LoadedFile, ConfigError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) => e as NodeJS.ErrnoException
    }).pipe(
      Effect.map((t): string | undefined => t),
      Effect.catch((e) =>
        e.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.fail(new ConfigError({ reason: "unreadable", message: `cannot read config ${path}: ${e.message}` }))
      )
    )
    if (text === undefined) return empty
    if (text.trim() === "") return { ...empty, exists: true }
    const parsed = Result.try(() => JSON5.parse(text) as unknown)
    if (Result.isFailure(parsed)) {
      return yield* new ConfigError({
        reason: "malformed",
        message: `config ${path} is not valid JSON5: ${String((parsed.failure as Error).message)}; fix the file or move it aside`
      })
    }
    const decoded = decodeFileConfig(parsed.success)
    if (Result.isFailure(decoded)) {
      const lines = decoded.failure.map((p) => `  ${p.path === "" ? "(root)" : p.path}: ${p.message}`)
      return yield* new ConfigError({ reason: "invalid", message: `config ${path} is invalid:\n${lines.join("\n")}` })
    }
    return { exists: true, document: parsed.success, ...decoded.success }
  })
