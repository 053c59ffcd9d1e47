/**
 * One log record as one line of JSON, the shape OpenClaw's log readers parse
 * (`time`, `level`, `subsystem`, `message`): annotations and the cause are
 * folded into the message as `key=value`, every secret is redacted by shape, and
 * every control character is escaped, so a line is always one line and safe to
 * print.
 */
import { redactText } from "../config/redact.ts"
import { capLogText, escapeControls } from "./safeLogger.ts"

/** A record as `Logger.formatStructured` gives it. */
export interface StructuredRecord {
  readonly level: string
  readonly timestamp: string
  readonly message: unknown
  readonly cause: string | undefined
  readonly annotations: Record<string, unknown>
}

/** The JSON line for `record`. */
export const recordLine = (record: StructuredRecord): string => {
  const parts = (Array.isArray(record.message) ? record.message : [record.message]).map(show)
  for (const [key, value] of Object.entries(record.annotations)) parts.push(`${key}=${show(value)}`)
  if (record.cause !== undefined) parts.push(`cause=${record.cause}`)
  return JSON.stringify({
    time: record.timestamp,
    level: record.level.toLowerCase(),
    subsystem: "gateway",
    message: escapeControls(redactText(capLogText(parts.join(" "))))
  })
}

const show = (value: unknown): string => {
  if (typeof value === "string") return value
  const json = JSON.stringify(value)
  return json === undefined ? String(value) : json
}
