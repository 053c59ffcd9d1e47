/**
 * Method results as JSON values: drops `undefined` fields (absent on the wire)
 * so domain objects with optional fields can be returned as they are.
 */
import type * as Schema from "effect/Schema"

/** A JSON copy of `value` without `undefined` object fields. */
export const toJson = (value: unknown): Schema.Json => {
  if (value === null || typeof value !== "object") return value as Schema.Json
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)))
  const out: Record<string, Schema.Json> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v)
  return out
}
