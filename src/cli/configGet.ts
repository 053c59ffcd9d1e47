/**
 * `gatehouse config get <path>` prints one key of the config file as the gateway
 * reads it (secrets redacted); `gatehouse config validate` checks the file the way
 * the gateway would at start and lists every problem, exit 1 when there is one.
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigError } from "../config/errors.ts"
import { redactConfig } from "../config/redact.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false))

/** The value at a dotted `path` of a parsed document; own keys only. */
export const valueAt = (document: unknown, path: string): { readonly found: boolean; readonly value?: unknown } => {
  let at: unknown = document
  for (const key of path.split(".").filter((k) => k.length > 0)) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return { found: false }
    at = (at as Record<string, unknown>)[key]
  }
  return { found: true, value: at }
}

const loadConfig = Effect.gen(function*() {
  const shared = yield* root
  return yield* GatewayConfig.make({ profile: Option.getOrUndefined(shared.profile), dev: shared.dev }, process.env)
})

export const configGet = Command.make(
  "get",
  { json, path: Argument.String("path").pipe(Argument.withDescription("A dotted key, e.g. gateway.port")) },
  (f) =>
    reportFailures(
      Effect.gen(function*() {
        const { config } = yield* loadConfig
        const got = valueAt(redactConfig(config.file.document), f.path)
        if (!got.found) {
          return yield* new ConfigError({
            reason: "invalid",
            message: `${f.path} is not set in ${config.paths.configPath}; \`gatehouse config show\` lists the effective settings and their defaults`
          })
        }
        yield* f.json ? printJson({ ok: true, path: f.path, value: got.value }) : Console.log(typeof got.value === "string" ? got.value : JSON.stringify(got.value, null, 2))
      }),
      f.json
    )
).pipe(Command.withDescription("Print one key of the config file (secrets redacted)"))

export const configValidate = Command.make("validate", { json }, (f) =>
  reportFailures(
    Effect.gen(function*() {
      const { config } = yield* loadConfig
      const unknown = config.file.unknownKeys
      if (f.json) return yield* printJson({ ok: true, path: config.paths.configPath, exists: config.file.exists, unusedKeys: unknown })
      yield* Console.log(
        `${config.paths.configPath}: ${config.file.exists ? "valid" : "absent (the defaults apply)"}` +
          (unknown.length === 0 ? "" : `\nNot used by gatehouse (ignored): ${unknown.join(", ")}`)
      )
    }),
    f.json
  )).pipe(Command.withDescription("Check the config file as the gateway would at start; every problem is listed, exit 1 when there is one"))
