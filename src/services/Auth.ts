/**
 * Auth: decides who is calling from the `connect` params and the transport, and
 * answers with a `Principal` (what the client may do is what Auth grants, never
 * what it claimed) or an `AuthError` saying why not. The wire message for each
 * reason is written once, at the edge (`programs/wireErrors.ts`).
 *
 * Layers: `AuthLive` (shared secret, device signatures, device tokens, setup
 * codes, through DevicePairing and the RateLimiter). An embedder can provide its
 * own layer to admit principals its own way.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Admitted, TransportInfo } from "../auth/principal.ts"
import { PAIRING_REASONS } from "../pairing/model.ts"
import type { ConnectParams } from "../protocol/connect.ts"

export type { Admitted, Principal, TransportInfo } from "../auth/principal.ts"

/** Why a shared secret or device token was not accepted. */
export const CREDENTIAL_FAILURES = [
  "device_token_mismatch",
  "device_token_revoked",
  "token_missing",
  "token_mismatch",
  "token_missing_config",
  "password_missing",
  "password_mismatch",
  "password_missing_config",
  "trusted_proxy_untrusted_source",
  "trusted_proxy_user_missing",
  "trusted_proxy_user_invalid",
  "trusted_proxy_user_not_allowed",
  "tailscale_whois_failed",
  "tailscale_user_mismatch",
  "unauthorized"
] as const

/** A credential was missing, wrong or not configured; `detail` adds why, if anything. */
export class AuthCredentialRejected extends Schema.TaggedClass<AuthCredentialRejected>()("AuthCredentialRejected", {
  kind: Schema.Literals(CREDENTIAL_FAILURES),
  detail: Schema.optionalKey(Schema.String)
}) {}

/** The device proof (key, id, nonce, signature, time) did not verify. */
export class AuthDeviceProofInvalid extends Schema.TaggedClass<AuthDeviceProofInvalid>()("AuthDeviceProofInvalid", {
  failure: Schema.Literals([
    "DEVICE_AUTH_PUBLIC_KEY_INVALID",
    "DEVICE_AUTH_DEVICE_ID_MISMATCH",
    "DEVICE_AUTH_SIGNATURE_EXPIRED",
    "DEVICE_AUTH_NONCE_REQUIRED",
    "DEVICE_AUTH_NONCE_MISMATCH",
    "DEVICE_AUTH_SIGNATURE_INVALID"
  ])
}) {}

/** The client must present a device identity for what it asked. */
export class AuthDeviceIdentityRequired extends Schema.TaggedClass<AuthDeviceIdentityRequired>()("AuthDeviceIdentityRequired", {}) {}

/** The device is not (or not yet) approved for what it asked; an operator must approve `requestId`. */
export class AuthPairingRequired extends Schema.TaggedClass<AuthPairingRequired>()("AuthPairingRequired", {
  requestId: Schema.String,
  reason: Schema.Literals(PAIRING_REASONS),
  deviceId: Schema.String,
  role: Schema.String,
  scopes: Schema.Array(Schema.String)
}) {}

/** A setup code was unknown, spent, expired, or asked for more than its profile. */
export class AuthSetupCodeInvalid extends Schema.TaggedClass<AuthSetupCodeInvalid>()("AuthSetupCodeInvalid", {
  message: Schema.String
}) {}

/** Too many failed credentials from this client; retry after the wait. */
export class AuthRateLimited extends Schema.TaggedClass<AuthRateLimited>()("AuthRateLimited", {
  retryAfterMs: Schema.Number
}) {}

/** The role is neither `operator` nor `node`. */
export class AuthInvalidRole extends Schema.TaggedClass<AuthInvalidRole>()("AuthInvalidRole", {
  role: Schema.String
}) {}

/** Auth cannot decide now (config unreadable, pairing state or limiter unavailable); nothing was granted. */
export class AuthUnavailable extends Schema.TaggedClass<AuthUnavailable>()("AuthUnavailable", {
  message: Schema.String
}) {}

/** The device would have to wait for approval, but too many pairing requests are waiting already. */
export class AuthPairingLimit extends Schema.TaggedClass<AuthPairingLimit>()("AuthPairingLimit", {
  message: Schema.String
}) {}

export class AuthError extends Schema.TaggedError<AuthError>()("AuthError", {
  reason: Schema.Union([
    AuthCredentialRejected,
    AuthDeviceProofInvalid,
    AuthDeviceIdentityRequired,
    AuthPairingRequired,
    AuthSetupCodeInvalid,
    AuthRateLimited,
    AuthInvalidRole,
    AuthUnavailable,
    AuthPairingLimit
  ])
}) {}

export interface AuthShape {
  /** Authenticates a `connect` signed against `challengeNonce`. */
  readonly authenticate: (
    params: ConnectParams,
    transport: TransportInfo,
    challengeNonce: string
  ) => Effect.Effect<Admitted, AuthError>
}

export class Auth extends Context.Service<Auth, AuthShape>()("gatehouse/services/Auth") {}
