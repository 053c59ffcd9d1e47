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

export const RequestFrame = Schema.Struct({
  type: Schema.Literal("req"),
  id: NonEmpty,
  method: NonEmpty,
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

const FrameFromJson = Schema.fromJsonString(Frame)
const decodeStrict = Schema.decodeUnknownResult(FrameFromJson, { onExcessProperty: "error", errors: "all" })
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Why a text could not be read as a frame, plus the request id when one was readable. */
export interface FrameProblem {
  readonly message: string
  readonly id: string | undefined
}

/** Decodes one text frame strictly; on failure says why, with the request id if any. */
export const decodeFrame = (text: string): Result.Result<Frame, FrameProblem> => {
  const result = decodeStrict(text)
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  const issues = formatIssues(result.failure.issue).issues
  const message = issues.map((i) => i.path && i.path.length > 0 ? `${i.message} at ${pathOf(i.path)}` : i.message).join("; ")
  return Result.fail({ message, id: readId(text) })
}

/** Encodes a frame for the wire. */
export const encodeFrame = (frame: Frame): string => JSON.stringify(frame)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const pathOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path.map((p) => (typeof p === "object" ? String(p.key) : String(p))).join(".")

const readId = (text: string): string | undefined => {
  const parsed = Result.try(() => JSON.parse(text) as unknown)
  if (Result.isFailure(parsed)) return undefined
  const value = parsed.success
  if (typeof value !== "object" || value === null) return undefined
  const id = (value as { id?: unknown }).id
  return typeof id === "string" && id.length > 0 ? id : undefined
}
