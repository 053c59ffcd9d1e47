/**
 * Log records a client cannot forge. Log messages interpolate strings that came
 * from the network (node command names, Telegram user ids, method names); a
 * newline in one would start a fake record, an ANSI escape would hide text on
 * the operator's terminal. Every string of every message is escaped before the
 * wrapped logger formats it, so the class is closed at the one place all records
 * pass, not at each call site.
 */
import * as Logger from "effect/Logger"
import { UNSAFE_CHARS } from "../text/printable.ts"


const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/** `text` with every control or bidi character shown as a visible escape (`\n`, `\u001b`). */
export const escapeControls = (text: string): string =>
  text.replace(UNSAFE_CHARS, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The longest log message kept whole: what a client can put into one costs bounded work downstream (redaction, files). */
export const MAX_LOG_MESSAGE = 8192

/** `text` cut to `MAX_LOG_MESSAGE` characters, saying how much was cut. */
export const capLogText = (text: string): string =>
  text.length <= MAX_LOG_MESSAGE ? text : `${text.slice(0, MAX_LOG_MESSAGE)}… (${text.length - MAX_LOG_MESSAGE} more characters)`

const clean = (message: unknown): unknown =>
  typeof message === "string" ? escapeControls(capLogText(message)) : Array.isArray(message) ? message.map(clean) : message

/** `logger` with every string in each record's message escaped first. */
export const safeMessages = <Output>(logger: Logger.Logger<unknown, Output>): Logger.Logger<unknown, Output> =>
  Logger.make((options) => logger.log({ ...options, message: clean(options.message) }))
