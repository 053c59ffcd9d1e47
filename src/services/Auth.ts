/**
 * Auth: decides who is calling from the `connect` params and the transport:
 * shared secrets (token, password, `none` on loopback), device signatures, device
 * tokens and setup codes. Secrets are resolved per connection and compared in
 * constant time; a device is admitted through DevicePairing; what a client may do
 * is what this service grants, never what it claimed.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { secretEquals } from "../auth/secretEquals.ts"
import * as Clock from "effect/Clock"
import type { ConfigError } from "../config/errors.ts"
import type { Secrets } from "../config/resolve.ts"
import type { AuthMode } from "../config/schema.ts"
import type { Ask } from "../pairing/policy.ts"
import type { ConnectAuth, ConnectParams, Role } from "../protocol/connect.ts"
import { deviceAuthMessage, verifyDeviceProof } from "../protocol/deviceAuth.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import { grant, OPERATOR_SCOPES } from "../protocol/scopes.ts"
import { type Admission, DevicePairing } from "./DevicePairing.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { RateLimiter } from "./RateLimiter.ts"

/** What the transport knows about a connection, independent of what the client claims. */
export interface TransportInfo {
  readonly remoteAddress: string
  /** Loopback socket with no proxy headers. */
  readonly directLocal: boolean
}

/** The server-derived identity of a connection. */
export interface Principal {
  readonly method: "token" | "password" | "none" | "device-token" | "bootstrap-token"
  readonly role: Role
  readonly scopes: ReadonlyArray<string>
  /** The verified device identity, when the client presented one. */
  readonly deviceId?: string | undefined
}

/** A successful authentication: who it is, and the device token to hand back, if any. */
export interface Admitted {
  readonly principal: Principal
  readonly deviceToken?: { readonly token: string; readonly issuedAtMs: number } | undefined
}

export interface AuthShape {
  /** Authenticates a `connect`; fails with the protocol error to send before closing 1008. */
  readonly authenticate: (
    params: ConnectParams,
    transport: TransportInfo,
    challengeNonce: string
  ) => Effect.Effect<Admitted, GatewayError>
}

export class Auth extends Context.Service<Auth, AuthShape>()("gatehouse/services/Auth") {
  static readonly layer = Layer.effect(
    Auth,
    Effect.gen(function*() {
      const { config, secrets } = yield* GatewayConfig
      const pairing = yield* DevicePairing
      const limiter = yield* RateLimiter
      const decide = Effect.fn("Auth.decide")(function*(
        params: ConnectParams,
        transport: TransportInfo,
        challengeNonce: string
      ) {
        const claimed = params.role ?? "operator"
        if (claimed !== "operator" && claimed !== "node") {
          return yield* new GatewayError({ code: ErrorCode.invalidRequest, message: `invalid role: ${claimed} (use "operator" or "node")` })
        }
        const role: Role = claimed
        const requested = role === "operator" ? grant(params.scopes ?? [], OPERATOR_SCOPES) : []
        const device = params.device
        const ask: Ask | undefined = device === undefined ? undefined : {
          deviceId: device.id,
          publicKey: device.publicKey,
          role,
          scopes: requested,
          clientId: params.client.id,
          clientMode: params.client.mode,
          displayName: params.client.displayName,
          platform: params.client.platform,
          deviceFamily: params.client.deviceFamily,
          remoteIp: transport.remoteAddress
        }
        if (device !== undefined) {
          const now = yield* Clock.currentTimeMillis
          const failure = verifyDeviceProof(device, {
            clientId: params.client.id,
            clientMode: params.client.mode,
            role,
            scopes: params.scopes ?? [],
            token: params.auth?.token ?? params.auth?.deviceToken ?? params.auth?.bootstrapToken ?? "",
            platform: params.client.platform,
            deviceFamily: params.client.deviceFamily
          }, challengeNonce, now)
          if (failure !== undefined) {
            return yield* new GatewayError({
              code: ErrorCode.invalidRequest,
              message: deviceAuthMessage[failure],
              details: { code: failure, reason: failure.toLowerCase().replace("device_auth_", "device-").replaceAll("_", "-") }
            })
          }
        }

        const auth = params.auth ?? {}
        if (ask !== undefined && auth.bootstrapToken !== undefined && auth.bootstrapToken !== "") {
          const admission = yield* pairing.redeemSetupCode(ask, auth.bootstrapToken)
          return yield* admitted({ method: "bootstrap-token", role, scopes: requested, deviceId: ask.deviceId }, admission, ask)
        }

        const shared = yield* sharedSecret(config.authMode.value, auth, transport, secrets)
        if (shared._tag === "Ok") {
          if (ask === undefined) {
            if (role === "node") return yield* deviceIdentityRequired
            // Without a device there is no one to pair: local callers get what they ask for, remote ones only `health`.
            return { principal: { method: shared.method, role, scopes: transport.directLocal ? requested : [] } }
          }
          const admission = yield* pairing.admit(ask, transport.directLocal && config.autoApproveLocal)
          return yield* admitted({ method: shared.method, role, scopes: requested, deviceId: ask.deviceId }, admission, ask)
        }

        const presented = auth.deviceToken ?? (shared._tag === "Mismatch" ? auth.token : undefined)
        if (ask !== undefined && presented !== undefined && presented !== "") {
          const check = yield* pairing.verifyToken(ask, presented)
          if (check.ok) return { principal: { method: "device-token" as const, role, scopes: check.scopes, deviceId: ask.deviceId } }
          if (check.reason === "scope" || check.reason === "role") {
            const admission = yield* pairing.admit(ask, false)
            return yield* admitted({ method: "device-token", role, scopes: requested, deviceId: ask.deviceId }, admission, ask)
          }
          if (auth.deviceToken !== undefined) return yield* rejected(check.reason === "revoked" ? "device_token_revoked" : "device_token_mismatch", "")
        }
        if (shared._tag === "Refused") return yield* shared.error
        // No device and no credential at all: OpenClaw's clients expect DEVICE_IDENTITY_REQUIRED here.
        if (ask === undefined && (role === "node" || shared._tag === "Missing" && isEmpty(auth))) return yield* deviceIdentityRequired
        return yield* rejected(shared.reason, "")
      })
      const authenticate = Effect.fn("Auth.authenticate")(function*(
        params: ConnectParams,
        transport: TransportInfo,
        challengeNonce: string
      ) {
        // Checked before any credential is looked at, whatever fields the client sent.
        const wait = yield* limiter.check(transport.remoteAddress)
        if (wait > 0) return yield* rateLimited(wait)
        return yield* decide(params, transport, challengeNonce).pipe(
          Effect.tapError((e) => {
            const code = (e.details as { code?: unknown } | undefined)?.code
            return typeof code === "string" && COUNTED_FAILURES.has(code) ? limiter.fail(transport.remoteAddress, code) : Effect.void
          })
        )
      })
      return Auth.of({ authenticate })
    })
  )
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type AuthReason =
  | "device_token_mismatch"
  | "device_token_revoked"
  | "token_missing"
  | "token_mismatch"
  | "token_missing_config"
  | "password_missing"
  | "password_mismatch"
  | "password_missing_config"
  | "unauthorized"

const reasons: Record<AuthReason, { code: string; message: string; next: string }> = {
  device_token_mismatch: {
    code: "AUTH_DEVICE_TOKEN_MISMATCH",
    message: "unauthorized: device token mismatch (connect with the gateway token to get a new one, or run `gatehouse devices rotate <deviceId> --role <role>` on the gateway host)",
    next: "update_auth_credentials"
  },
  device_token_revoked: {
    code: "AUTH_DEVICE_TOKEN_MISMATCH",
    message: "unauthorized: device token revoked (an operator revoked it; pair again or ask for a rotation)",
    next: "update_auth_credentials"
  },
  token_missing: {
    code: "AUTH_TOKEN_MISSING",
    message: "unauthorized: gateway token missing (pass --token <token> or set OPENCLAW_GATEWAY_TOKEN; " +
      "on the gateway host `gatehouse config show` says where the token is)",
    next: "update_auth_configuration"
  },
  token_mismatch: {
    code: "AUTH_TOKEN_MISMATCH",
    message: "unauthorized: gateway token mismatch (use this gateway's token; on the gateway host " +
      "`gatehouse config show` says where it is, and gateway.remote.token must match it)",
    next: "update_auth_credentials"
  },
  token_missing_config: {
    code: "AUTH_TOKEN_NOT_CONFIGURED",
    message: "unauthorized: the gateway has no token configured (set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN and restart it)",
    next: "review_auth_configuration"
  },
  password_missing: {
    code: "AUTH_PASSWORD_MISSING",
    message: "unauthorized: gateway password missing (pass --password <password> or set OPENCLAW_GATEWAY_PASSWORD)",
    next: "update_auth_configuration"
  },
  password_mismatch: {
    code: "AUTH_PASSWORD_MISMATCH",
    message: "unauthorized: gateway password mismatch (use the password in the gateway's gateway.auth.password)",
    next: "update_auth_credentials"
  },
  password_missing_config: {
    code: "AUTH_PASSWORD_NOT_CONFIGURED",
    message: "unauthorized: the gateway has no password configured (set gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD)",
    next: "review_auth_configuration"
  },
  unauthorized: { code: "AUTH_UNAUTHORIZED", message: "unauthorized", next: "review_auth_configuration" }
}

const rejected = (reason: AuthReason, extra: string) => {
  const r = reasons[reason]
  return new GatewayError({
    code: ErrorCode.invalidRequest,
    message: extra === "" ? r.message : `${r.message}: ${extra}`,
    details: { code: r.code, authReason: reason, canRetryWithDeviceToken: false, recommendedNextStep: r.next }
  })
}

// Wrong credentials and forged proofs count; missing ones and a skewed clock do not.
const COUNTED_FAILURES = new Set([
  "AUTH_TOKEN_MISMATCH",
  "AUTH_PASSWORD_MISMATCH",
  "AUTH_DEVICE_TOKEN_MISMATCH",
  "AUTH_BOOTSTRAP_TOKEN_INVALID",
  "DEVICE_AUTH_SIGNATURE_INVALID",
  "DEVICE_AUTH_DEVICE_ID_MISMATCH",
  "DEVICE_AUTH_PUBLIC_KEY_INVALID",
  "DEVICE_AUTH_NONCE_MISMATCH"
])

const rateLimited = (waitMs: number) =>
  new GatewayError({
    code: ErrorCode.invalidRequest,
    message: `unauthorized: too many failed authentication attempts from this address; retry in ${Math.ceil(waitMs / 1000)}s`,
    details: { code: "AUTH_RATE_LIMITED", authReason: "rate_limited", canRetryWithDeviceToken: false, recommendedNextStep: "wait_then_retry" },
    retryable: true,
    retryAfterMs: waitMs
  })

type SharedResult =
  | { readonly _tag: "Ok"; readonly method: "token" | "password" | "none" }
  | { readonly _tag: "Missing"; readonly reason: AuthReason }
  | { readonly _tag: "Mismatch"; readonly reason: AuthReason }
  | { readonly _tag: "Refused"; readonly error: GatewayError }

// Checks the shared secret of the configured mode, resolved afresh for this connection.
const sharedSecret = (
  mode: AuthMode,
  auth: ConnectAuth,
  transport: TransportInfo,
  secrets: Effect.Effect<Secrets, ConfigError>
): Effect.Effect<SharedResult> =>
  Effect.gen(function*() {
    const current = yield* Effect.result(secrets)
    if (current._tag === "Failure") {
      return {
        _tag: "Refused",
        error: new GatewayError({
          code: ErrorCode.unavailable,
          message: `gateway config is unreadable, refusing to authenticate: ${current.failure.message}`,
          retryable: true
        })
      } as const
    }
    switch (mode) {
      case "none":
        return transport.directLocal
          ? { _tag: "Ok", method: "none" } as const
          : { _tag: "Refused", error: rejected("unauthorized", "auth mode none accepts only direct loopback clients") } as const
      case "token": {
        const expected = current.success.token?.value
        if (expected === undefined) return { _tag: "Missing", reason: "token_missing_config" } as const
        if (auth.token === undefined || auth.token === "") return { _tag: "Missing", reason: "token_missing" } as const
        return secretEquals(auth.token, Redacted.value(expected))
          ? { _tag: "Ok", method: "token" } as const
          : { _tag: "Mismatch", reason: "token_mismatch" } as const
      }
      case "password": {
        const expected = current.success.password?.value
        if (expected === undefined) return { _tag: "Missing", reason: "password_missing_config" } as const
        if (auth.password === undefined || auth.password === "") return { _tag: "Missing", reason: "password_missing" } as const
        return secretEquals(auth.password, Redacted.value(expected))
          ? { _tag: "Ok", method: "password" } as const
          : { _tag: "Mismatch", reason: "password_mismatch" } as const
      }
      case "trusted-proxy":
        return { _tag: "Refused", error: rejected("unauthorized", "trusted-proxy auth is not supported by this gateway") } as const
    }
  })

const deviceIdentityRequired = new GatewayError({
  code: ErrorCode.notPaired,
  message: "device identity required: connect with a paired device identity, or (operators) pass the gateway token with --token",
  details: { code: "DEVICE_IDENTITY_REQUIRED" }
})

const isEmpty = (auth: ConnectAuth) => Object.values(auth).every((v) => v === undefined || v === "")

// Turns a pairing admission into the connection's principal, or the pairing-required error.
const admitted = (principal: Principal, admission: Admission, ask: Ask): Effect.Effect<Admitted, GatewayError> =>
  admission._tag === "Paired"
    ? Effect.succeed({ principal, deviceToken: { token: admission.token, issuedAtMs: admission.issuedAtMs } })
    : Effect.fail(new GatewayError({
      code: ErrorCode.notPaired,
      message: `pairing required: device is not approved yet (${admission.request.reason}); approve it on the gateway host with ` +
        `\`gatehouse devices approve ${admission.request.requestId}\``,
      details: {
        code: "PAIRING_REQUIRED",
        reason: admission.request.reason,
        requestId: admission.request.requestId,
        deviceId: ask.deviceId,
        requestedRole: ask.role,
        requestedScopes: ask.scopes
      }
    }))
