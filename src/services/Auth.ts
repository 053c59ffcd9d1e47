/**
 * Auth: decides who is calling from the `connect` params and the transport. This
 * release knows shared secrets (token, password) and `none` on loopback; device
 * identity arrives with pairing. Secrets are resolved per connection and compared
 * in constant time; what a client may do is what this service grants.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import type { ConnectParams, Role } from "../protocol/connect.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import { grant, OPERATOR_SCOPES } from "../protocol/scopes.ts"
import { GatewayConfig } from "./GatewayConfig.ts"

/** What the transport knows about a connection, independent of what the client claims. */
export interface TransportInfo {
  readonly remoteAddress: string
  /** Loopback socket with no proxy headers. */
  readonly directLocal: boolean
}

/** The server-derived identity of a connection. */
export interface Principal {
  readonly method: "token" | "password" | "none"
  readonly role: Role
  readonly scopes: ReadonlyArray<string>
}

export interface AuthShape {
  /** Authenticates a `connect`; fails with the protocol error to send before closing 1008. */
  readonly authenticate: (params: ConnectParams, transport: TransportInfo) => Effect.Effect<Principal, GatewayError>
}

export class Auth extends Context.Service<Auth, AuthShape>()("gatehouse/services/Auth") {
  static readonly layer = Layer.effect(
    Auth,
    Effect.gen(function*() {
      const { config, secrets } = yield* GatewayConfig
      const authenticate = Effect.fn("Auth.authenticate")(function*(params: ConnectParams, transport: TransportInfo) {
        const role = params.role ?? "operator"
        if (role !== "operator" && role !== "node") {
          return yield* new GatewayError({ code: ErrorCode.invalidRequest, message: `invalid role: ${role} (use "operator" or "node")` })
        }
        if (role === "node") {
          return yield* new GatewayError({
            code: ErrorCode.notPaired,
            message: "device identity required: nodes connect with a paired device identity",
            details: { code: "DEVICE_IDENTITY_REQUIRED" }
          })
        }
        const current = yield* secrets.pipe(
          Effect.mapError((e) =>
            new GatewayError({
              code: ErrorCode.unavailable,
              message: `gateway config is unreadable, refusing to authenticate: ${e.message}`,
              retryable: true
            })
          )
        )
        const mode = config.authMode.value
        const scopes = grant(params.scopes ?? [], OPERATOR_SCOPES)
        switch (mode) {
          case "none": {
            if (!transport.directLocal) return yield* rejected("unauthorized", "auth mode none accepts only direct loopback clients")
            return { method: "none", role, scopes } as const
          }
          case "token": {
            const expected = current.token?.value
            if (expected === undefined) return yield* rejected("token_missing_config", "")
            const given = params.auth?.token
            if (given === undefined || given === "") return yield* rejected("token_missing", "")
            if (!secretEquals(given, Redacted.value(expected))) return yield* rejected("token_mismatch", "")
            return { method: "token", role, scopes } as const
          }
          case "password": {
            const expected = current.password?.value
            if (expected === undefined) return yield* rejected("password_missing_config", "")
            const given = params.auth?.password
            if (given === undefined || given === "") return yield* rejected("password_missing", "")
            if (!secretEquals(given, Redacted.value(expected))) return yield* rejected("password_mismatch", "")
            return { method: "password", role, scopes } as const
          }
          case "trusted-proxy":
            return yield* rejected("unauthorized", "trusted-proxy auth is not supported by this gateway")
        }
      })
      return Auth.of({ authenticate })
    })
  )
}

/** Compares two secrets in constant time, whatever their lengths. */
export const secretEquals = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type AuthReason =
  | "token_missing"
  | "token_mismatch"
  | "token_missing_config"
  | "password_missing"
  | "password_mismatch"
  | "password_missing_config"
  | "unauthorized"

const reasons: Record<AuthReason, { code: string; message: string; next: string }> = {
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
