/**
 * The error of config resolution: a file that cannot be read or parsed, a value of
 * the wrong shape, or a combination the gateway refuses to start with.
 */
import * as Schema from "effect/Schema"

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  reason: Schema.Literals(["unreadable", "malformed", "invalid", "refused"]),
  message: Schema.String
}) {}
