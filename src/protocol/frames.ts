/**
 * Frames on the wire: `req`, `res` and `event` JSON objects. Decoding is strict
 * (unknown keys are an error) so a malformed frame is answered, never guessed at.
 */
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Result from "effect/Result"

/** The error object carried by a failed `res`. */
export const ErrorShape = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalKey(Schema.Unknown),
  retryable: Schema.optionalKey(Schema.Boolean),
  retryAfterMs: Schema.optionalKey(Schema.Finite)
})
export type ErrorShape = typeof ErrorShape.Type

const NonEmpty = Schema.String.check(Schema.isNonEmpty())

/** Request ids and method names at most: OpenClaw's are ~40 characters; the gateway holds ids while requests run. */
export const MAX_ID_LENGTH = 256
/** Objects and arrays nested at most this deep in a frame. */
export const MAX_FRAME_DEPTH = 64

const Id = NonEmpty.check(Schema.isMaxLength(MAX_ID_LENGTH))

export const RequestFrame = Schema.Struct({
  type: Schema.Literal("req"),
  id: Id,
  method: Id,
  params: Schema.optionalKey(Schema.Unknown)
})
export type RequestFrame = typeof RequestFrame.Type

export const ResponseFrame = Schema.Struct({
  type: Schema.Literal("res"),
  id: NonEmpty,
  ok: Schema.Boolean,
  payload: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(ErrorShape)
})
export type ResponseFrame = typeof ResponseFrame.Type

export const StateVersion = Schema.Struct({ presence: Schema.Int, health: Schema.Int })
export type StateVersion = typeof StateVersion.Type

export const EventFrame = Schema.Struct({
  type: Schema.Literal("event"),
  event: NonEmpty,
  payload: Schema.optionalKey(Schema.Unknown),
  seq: Schema.optionalKey(Schema.Int),
  stateVersion: Schema.optionalKey(StateVersion)
})
export type EventFrame = typeof EventFrame.Type

export const Frame = Schema.Union([RequestFrame, ResponseFrame, EventFrame])
export type Frame = typeof Frame.Type

const decodeStrict = Schema.decodeUnknownResult(Frame, { onExcessProperty: "error", errors: "first" })
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Why a text could not be read as a frame, plus the request id when one was readable. */
export interface FrameProblem {
  readonly message: string
  readonly id: string | undefined
}

/**
 * Decodes one text frame strictly; on failure says why (one issue, short, never
 * echoing the client's values), with the request id if one was readable. Work is
 * linear in the text: nesting is measured before parsing, and decoding stops at
 * the first issue.
 */
export const decodeFrame = (text: string): Result.Result<Frame, FrameProblem> => {
  const shape = shapeProblem(text)
  if (shape?.deep === true) return Result.fail({ message: shape.message, id: undefined })
  const parsed = Result.try(() => JSON.parse(text) as unknown)
  if (Result.isFailure(parsed)) return Result.fail({ message: "not valid JSON", id: undefined })
  // Parsing a wide object is linear; decoding it with the schema is what must not happen.
  if (shape !== undefined) return Result.fail({ message: shape.message, id: idOf(parsed.success) })
  const result = decodeStrict(parsed.success)
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  const issue = formatIssues(result.failure.issue).issues[0]
  const message = issue === undefined ? "not a frame" : issue.path && issue.path.length > 0 ? `${issue.message} at ${pathOf(issue.path)}` : issue.message
  return Result.fail({ message: clip(message, 160), id: idOf(parsed.success) })
}

/**
 * Decodes a frame expected to be a request (every frame after the handshake):
 * a well-formed `req` is recognised by its four keys without a full union
 * decode; anything else gets `decodeFrame`'s answer, so the two never disagree.
 */
export const decodeRequest = (text: string): Result.Result<Frame, FrameProblem> => {
  if (shapeProblem(text) !== undefined) return decodeFrame(text)
  const parsed = Result.try(() => JSON.parse(text) as unknown)
  if (Result.isFailure(parsed)) return decodeFrame(text)
  const v = parsed.success as { type?: unknown; id?: unknown; method?: unknown; params?: unknown }
  if (
    typeof v === "object" && v !== null && !Array.isArray(v) && v.type === "req" && validId(v.id) && validId(v.method) &&
    onlyRequestKeys(v)
  ) return Result.succeed(v as RequestFrame)
  const result = decodeStrict(parsed.success)
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  return decodeFrame(text)
}

/** Encodes a frame for the wire. */
export const encodeFrame = (frame: Frame): string => JSON.stringify(frame)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const pathOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path.slice(0, 4).map((p) => clip(typeof p === "object" ? String(p.key) : String(p), 32)).join(".")

const validId = (u: unknown): u is string => typeof u === "string" && u.length > 0 && u.length <= MAX_ID_LENGTH

const onlyRequestKeys = (v: object) => {
  for (const k in v) if (k !== "type" && k !== "id" && k !== "method" && k !== "params") return false
  return true
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

// The id to answer under: only a short string, so an error reply never carries a client's megabytes back.
const idOf = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const id = (value as { id?: unknown }).id
  return typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH ? id : undefined
}

// Objects with more keys than this are refused before parsing: schema decoding of a 170,000-key
// object held the event loop for seconds (found by test/security/frameFuzzer.test.ts).
const MAX_OBJECT_KEYS = 4096

// Why a JSON text is refused before parsing (too deep, or an object too wide), skipping string contents; one pass.
// A frame's scan needs only the entries up to its depth, each written on entering a level before it is
// read, so one pair of arrays serves every call (the scan is synchronous): allocating two typed arrays
// per frame cost more than parsing a small frame.
const objectAt = new Uint8Array(MAX_FRAME_DEPTH + 2)
const commasAt = new Uint32Array(MAX_FRAME_DEPTH + 2)

const shapeProblem = (text: string): { readonly message: string; readonly deep: boolean } | undefined => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > MAX_FRAME_DEPTH) return { message: `frame nested deeper than ${MAX_FRAME_DEPTH} levels`, deep: true }
      objectAt[depth] = c === 123 ? 1 : 0
      commasAt[depth] = 0
    } else if (c === 125 || c === 93) depth--
    else if (c === 44 && depth > 0 && objectAt[depth] === 1 && ++commasAt[depth]! >= MAX_OBJECT_KEYS) {
      return { message: `frame has an object with more than ${MAX_OBJECT_KEYS} keys`, deep: false }
    }
  }
  return undefined
}
