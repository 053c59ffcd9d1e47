/**
 * Field schemas for method results: values the gateway holds as `undefined` are
 * absent on the wire (never `null`), and open-ended values (node payloads, config
 * documents) pass through as JSON, with `undefined` object fields dropped.
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"

/** A JSON copy of `value` without `undefined` object fields (`undefined` in arrays becomes `null`). */
export const toJson = (value: unknown): Schema.Json => {
  if (value === null || typeof value !== "object") return value as Schema.Json
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)))
  const out: Record<string, Schema.Json> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v)
  return out
}

/**
 * Any JSON value, for the parts of a result nobody types (a node's answer, a config
 * document). Encoding drops `undefined` object fields as `JSON.stringify` would,
 * where a plain `Schema.Json` would refuse the whole result.
 */
// The wire side is declared as `Unknown` on purpose: `toJson` already yields JSON, so encoding walks
// the value once (a `Schema.Json` wire side walked it a second time to check it); decoded text is JSON anyway.
export const JsonValue: Schema.Codec<unknown, Schema.Json> = (Schema.Unknown as Schema.Codec<Schema.Json>).pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.passthroughSubtype<unknown, Schema.Json>(),
    encode: SchemaGetter.transform((value: unknown) => (value === undefined ? null : toJson(value)))
  })
)

/**
 * A field the gateway may hold as `undefined` (say, a node's `displayName: string |
 * undefined`): absent on the wire then, where `Schema.optional` would send `null`.
 */
export const absentWhenUndefined = <S extends Schema.Top>(schema: S) =>
  Schema.optionalKey(schema).pipe(
    Schema.decodeTo(Schema.optional(Schema.toType(schema)), {
      decode: SchemaGetter.transformOptional<S["Type"] | undefined, S["Type"]>((present) => present),
      encode: SchemaGetter.transformOptional<S["Type"], S["Type"] | undefined>((value) => Option.filter(value, Predicate.isNotUndefined))
    })
  )
