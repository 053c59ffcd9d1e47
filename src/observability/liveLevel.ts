/**
 * `logging.level` applied per record, so a config reload changes what the
 * daemon logs without a restart: the wrapped logger sees a record only when its
 * level is at least the one the config in force names (default: info).
 */
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/** The config file's level names, as Effect's levels. */
const LEVELS: Record<string, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  silent: "None"
}

/** Effect's level for a `logging.level` value (info when unset). */
export const levelOf = (configured: string | undefined): LogLevel.LogLevel => LEVELS[configured ?? "info"] ?? "Info"

/** `logger`, fed only records at or above `current()` (read per record). */
export const withLiveLevel = <Output>(logger: Logger.Logger<unknown, Output>, current: () => string | undefined): Logger.Logger<unknown, Output | undefined> =>
  Logger.make((options) => {
    const min = levelOf(current())
    return min !== "None" && LogLevel.isGreaterThanOrEqualTo(options.logLevel, min) ? logger.log(options) : undefined
  })
