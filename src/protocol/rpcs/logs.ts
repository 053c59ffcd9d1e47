/**
 * `logs.tail`: the gateway's recent log lines after a cursor, in the shape
 * `openclaw logs` sends and reads (a byte cursor, `limit`, `maxBytes`; the
 * answer's `cursor` is passed back to follow).
 */
import * as Schema from "effect/Schema"
import { MethodAccess, operator } from "../access.ts"
import { method } from "./define.ts"

const opt = Schema.optionalKey

export const LogsTailResult = Schema.Struct({
  /** The log file the gateway also writes, when it has one. */
  file: opt(Schema.String),
  cursor: Schema.Number,
  size: Schema.Number,
  /** One JSON record per line (`time`, `level`, `subsystem`, `message`), secrets redacted. */
  lines: Schema.Array(Schema.String),
  truncated: Schema.Boolean,
  reset: Schema.Boolean
})
export type LogsTailResult = typeof LogsTailResult.Type

export class LogsTail extends method("logs.tail", {
  cursor: opt(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  limit: opt(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5000 }))),
  maxBytes: opt(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })))
}, LogsTailResult).annotate(MethodAccess, operator("operator.read")) {}
