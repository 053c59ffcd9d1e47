/**
 * The one error every gateway method fails with: it carries the protocol's error
 * shape (`code`, `message`, `details`), and its message tells a person what to do.
 */
import * as Schema from "effect/Schema"
import type { ErrorShape } from "./frames.ts"

/** Top-level error codes as OpenClaw clients know them. */
export const ErrorCode = {
  invalidRequest: "INVALID_REQUEST",
  notPaired: "NOT_PAIRED",
  forbidden: "FORBIDDEN",
  unavailable: "UNAVAILABLE",
  timeout: "TIMEOUT"
} as const

export class GatewayError extends Schema.TaggedError<GatewayError>()("GatewayError", {
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalKey(Schema.Unknown),
  retryable: Schema.optionalKey(Schema.Boolean),
  retryAfterMs: Schema.optionalKey(Schema.Finite)
}) {
  /** The wire shape of this error. */
  toShape(): ErrorShape {
    return {
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.retryable === undefined ? {} : { retryable: this.retryable }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs })
    }
  }
}

/** A request the gateway cannot act on as sent. */
export const invalidRequest = (message: string, details?: unknown) =>
  new GatewayError({ code: ErrorCode.invalidRequest, message, ...(details === undefined ? {} : { details }) })

/** A method name the gateway does not serve. */
export const unknownMethod = (method: string) =>
  invalidRequest(`unknown method: ${method} (run \`gatehouse gateway call --help\` or see hello-ok features.methods for what this gateway serves)`)

/** The caller lacks a scope the method needs. */
export const missingScope = (scope: string) =>
  new GatewayError({
    code: ErrorCode.forbidden,
    message: `missing scope: ${scope}`,
    details: { code: "MISSING_SCOPE", missingScope: scope, requiredScopes: [scope] }
  })

/** The caller's role may not call the method. */
export const unauthorizedRole = (role: string) => invalidRequest(`unauthorized role: ${role}`)
