/**
 * The one place where service errors become the wire's error shape: each
 * service fails with its own tagged error and reason; this module writes the
 * code, the details OpenClaw clients read, and a message that tells a person
 * what to run next. Infrastructure detail (a database address, a file path, a
 * driver's message) never goes on the wire: it is logged under a correlation id
 * that the client gets instead.
 */
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { deviceAuthMessage } from "../protocol/deviceAuth.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import type { AuthError } from "../services/Auth.ts"
import type { ChannelRunnerError } from "../services/ChannelRunner.ts"
import type { ChatHistoryError } from "../services/ChatHistory.ts"
import type { ChatRunsError } from "../services/ChatRuns.ts"
import type { DevicePairingError } from "../services/DevicePairing.ts"
import type { NodePairingStoreError } from "../services/NodePairingStore.ts"
import type { NodeRegistryError } from "../services/NodeRegistry.ts"
import type { PairingStoreError } from "../services/PairingStore.ts"

/** Any error a method handler or the handshake may fail with. */
export type ServiceError =
  | AuthError
  | DevicePairingError
  | PairingStoreError
  | NodePairingStoreError
  | NodeRegistryError
  | ChannelRunnerError
  | ChatRunsError
  | ChatHistoryError
  | GatewayError

/** The wire error for a service error (a GatewayError passes through); logs what it keeps off the wire. */
export const toWire = (error: ServiceError): Effect.Effect<GatewayError> => {
  const internal = internalDetail(error)
  if (internal === undefined) return Effect.succeed(publicError(error))
  return Effect.suspend(() => {
    const correlationId = randomUUID()
    return Effect.as(
      Effect.logError(`${internal.what} unavailable: ${internal.detail}`).pipe(Effect.annotateLogs({ correlationId })),
      new GatewayError({
        code: ErrorCode.unavailable,
        message: `${internal.what} is unavailable right now; retry shortly (correlation id ${correlationId}; the gateway's log has the details)`,
        details: { code: "UNAVAILABLE", correlationId },
        retryable: true
      })
    )
  })
}

/** Fails with the wire error of a service error. */
export const failOnWire = (error: ServiceError): Effect.Effect<never, GatewayError> => Effect.flatMap(toWire(error), Effect.fail)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// What an error keeps off the wire: the component that failed and the detail for the log.
const internalDetail = (error: ServiceError): { readonly what: string; readonly detail: string } | undefined => {
  if (error._tag === "GatewayError") return undefined
  const reason = error.reason
  switch (reason._tag) {
    case "AuthUnavailable":
      return { what: "authentication", detail: reason.message }
    case "PairingUnavailable":
      return { what: "pairing state", detail: reason.message }
    case "ChatHistoryUnavailable":
      return { what: "chat history", detail: reason.message }
    default:
      return undefined
  }
}

const publicError = (error: ServiceError): GatewayError => {
  switch (error._tag) {
    case "GatewayError":
      return error
    case "AuthError":
      return authToWire(error.reason)
    case "DevicePairingError":
    case "PairingStoreError":
    case "NodePairingStoreError":
    case "NodeRegistryError":
      return reasonToWire(error.reason)
    case "ChannelRunnerError":
      return channelToWire(error.reason)
    case "ChatRunsError":
      return runsToWire(error.reason)
    case "ChatHistoryError":
      return new GatewayError({ code: ErrorCode.unavailable, message: "chat history is unavailable right now; retry shortly", retryable: true })
  }
}

const channelToWire = (reason: ChannelRunnerError["reason"]): GatewayError => {
  switch (reason._tag) {
    case "ChannelUnknown":
      return new GatewayError({
        code: ErrorCode.invalidRequest,
        message: reason.channel === ""
          ? "name the channel: none or several are configured (see `openclaw channels status`)"
          : `channel "${reason.channel}" is not configured (see \`openclaw channels status\`; channels.${reason.channel} in openclaw.json)`,
        details: { code: "CHANNEL_UNKNOWN" }
      })
    case "ChannelSendFailed":
      return new GatewayError({
        code: ErrorCode.unavailable,
        message: `${reason.channel}: ${reason.message}`,
        details: { code: "CHANNEL_SEND_FAILED", channel: reason.channel }
      })
  }
}

const runsToWire = (reason: ChatRunsError["reason"]): GatewayError =>
  reason._tag === "RunsBusy"
    ? new GatewayError({
      code: ErrorCode.unavailable,
      message: reason.scope === "caller"
        ? `too many agent runs in flight from this client (at most ${reason.limit}); wait for one to end or abort it (chat.abort)`
        : `the gateway already runs ${reason.limit} agent runs; retry when some have ended`,
      details: { code: "RUNS_BUSY", scope: reason.scope, limit: reason.limit },
      retryable: true
    })
    : new GatewayError({
      code: ErrorCode.invalidRequest,
      message: `no agent run ${reason.runId} is known (it never started here, or ended long ago)`,
      details: { code: "RUN_UNKNOWN" }
    })

type OtherReason = (DevicePairingError | NodeRegistryError)["reason"]

const reasonToWire = (reason: OtherReason): GatewayError => {
  switch (reason._tag) {
    case "PairingRefused":
      return new GatewayError({ code: ErrorCode.invalidRequest, message: reason.message, details: { code: reason.code } })
    case "PairingUnavailable":
      return new GatewayError({ code: ErrorCode.unavailable, message: "pairing state is unavailable right now; retry shortly", retryable: true })
    case "SelfApprovalDenied":
      return new GatewayError({
        code: ErrorCode.forbidden,
        message: `this device can't approve its own ${reason.reason}; approve it on the gateway host with ` +
          `\`gatehouse devices approve ${reason.requestId}\`, or from another operator holding operator.pairing and the requested scopes`,
        details: { code: "SELF_APPROVAL_DENIED" }
      })
    case "NodeNotConnected":
      return reason.command === undefined
        ? new GatewayError({
          code: ErrorCode.unavailable,
          message: `node not connected: ${reason.nodeId} (see \`gatehouse nodes list\`)`,
          details: { code: "NOT_CONNECTED" }
        })
        : new GatewayError({
          code: ErrorCode.unavailable,
          message: `${reason.why ?? "node disconnected"} (${reason.command} on ${reason.nodeId})`,
          details: { code: "NOT_CONNECTED" },
          retryable: true
        })
    case "NodeRequestRefused":
      return new GatewayError({ code: ErrorCode.invalidRequest, message: reason.message, details: { code: reason.code } })
    case "NodeBusy":
      return new GatewayError({
        code: ErrorCode.unavailable,
        message: reason.scope === "caller"
          ? `too many node invokes in flight from this client (at most ${reason.limit}); wait for some to answer`
          : `this node already has ${reason.limit} invokes in flight; retry when it has answered some`,
        details: { code: "INVOKE_BUDGET_EXCEEDED", scope: reason.scope, limit: reason.limit },
        retryable: true
      })
    case "NodeInvokeTimeout":
      return new GatewayError({
        code: ErrorCode.timeout,
        message: `node invoke timed out after ${reason.timeoutMs} ms (${reason.command} on ${reason.nodeId})`,
        details: { code: "TIMEOUT" },
        retryable: true
      })
    case "NodeReportedFailure":
      return new GatewayError({
        code: ErrorCode.unavailable,
        message: `${reason.code}: ${reason.message === "" ? "the node reported a failure" : reason.message}`,
        details: { nodeError: { code: reason.code, message: reason.message } }
      })
  }
}

const authToWire = (reason: AuthError["reason"]): GatewayError => {
  switch (reason._tag) {
    case "AuthInvalidRole":
      // The client's own string is not echoed back (nor logged whole): its size is the client's choice.
      return new GatewayError({ code: ErrorCode.invalidRequest, message: `invalid role ${JSON.stringify(reason.role.slice(0, 32))}${reason.role.length > 32 ? "…" : ""} (use "operator" or "node")` })
    case "AuthDeviceProofInvalid":
      return new GatewayError({
        code: ErrorCode.invalidRequest,
        message: deviceAuthMessage[reason.failure],
        details: {
          code: reason.failure,
          reason: reason.failure.toLowerCase().replace("device_auth_", "device-").replaceAll("_", "-")
        }
      })
    case "AuthSetupCodeInvalid":
      return new GatewayError({
        code: ErrorCode.invalidRequest,
        message: `unauthorized: ${reason.message}`,
        details: { code: "AUTH_BOOTSTRAP_TOKEN_INVALID", authReason: "bootstrap_token_invalid", recommendedNextStep: "update_auth_credentials" }
      })
    case "AuthCredentialRejected": {
      const r = credentialMessages[reason.kind]
      return new GatewayError({
        code: ErrorCode.invalidRequest,
        message: reason.detail === undefined ? r.message : `${r.message}: ${reason.detail}`,
        details: { code: r.code, authReason: reason.kind, canRetryWithDeviceToken: false, recommendedNextStep: r.next }
      })
    }
    case "AuthDeviceIdentityRequired":
      return new GatewayError({
        code: ErrorCode.notPaired,
        message: "device identity required: connect with a paired device identity, or (operators) pass the gateway token with --token",
        details: { code: "DEVICE_IDENTITY_REQUIRED" }
      })
    case "AuthPairingRequired":
      return new GatewayError({
        code: ErrorCode.notPaired,
        message: `pairing required: device is not approved yet (${reason.reason}); approve it on the gateway host with ` +
          `\`gatehouse devices approve ${reason.requestId}\``,
        details: {
          code: "PAIRING_REQUIRED",
          reason: reason.reason,
          requestId: reason.requestId,
          deviceId: reason.deviceId,
          requestedRole: reason.role,
          requestedScopes: reason.scopes
        }
      })
    case "AuthRateLimited":
      return new GatewayError({
        code: ErrorCode.invalidRequest,
        message: `unauthorized: too many failed authentication attempts from this address; retry in ${Math.ceil(reason.retryAfterMs / 1000)}s`,
        details: { code: "AUTH_RATE_LIMITED", authReason: "rate_limited", canRetryWithDeviceToken: false, recommendedNextStep: "wait_then_retry" },
        retryable: true,
        retryAfterMs: reason.retryAfterMs
      })
    case "AuthUnavailable":
      return new GatewayError({ code: ErrorCode.unavailable, message: "authentication is unavailable right now; retry shortly", retryable: true })
    case "AuthPairingLimit":
      return new GatewayError({ code: ErrorCode.unavailable, message: reason.message, details: { code: "PAIRING_LIMIT" }, retryable: true })
  }
}

const credentialMessages: Record<AuthCredentialRejectedKind, { code: string; message: string; next: string }> = {
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
  trusted_proxy_untrusted_source: {
    code: "AUTH_TRUSTED_PROXY_UNTRUSTED_SOURCE",
    message: "unauthorized: this gateway accepts only requests through its identity-aware proxy (gateway.trustedProxies)",
    next: "review_auth_configuration"
  },
  trusted_proxy_user_missing: {
    code: "AUTH_TRUSTED_PROXY_USER_MISSING",
    message: "unauthorized: the proxy did not send the user header or a required header (gateway.auth.trustedProxy)",
    next: "review_auth_configuration"
  },
  trusted_proxy_user_invalid: {
    code: "AUTH_TRUSTED_PROXY_USER_INVALID",
    message: "unauthorized: the proxy's user header is not one user name",
    next: "review_auth_configuration"
  },
  trusted_proxy_user_not_allowed: {
    code: "AUTH_TRUSTED_PROXY_USER_NOT_ALLOWED",
    message: "unauthorized: this user is not in gateway.auth.trustedProxy.allowUsers",
    next: "review_auth_configuration"
  },
  tailscale_whois_failed: {
    code: "AUTH_TAILSCALE_WHOIS_FAILED",
    message: "unauthorized: the Tailscale identity could not be confirmed (is tailscaled running? `tailscale status`); connect with the gateway token instead",
    next: "retry_with_token"
  },
  tailscale_user_mismatch: {
    code: "AUTH_TAILSCALE_IDENTITY_MISMATCH",
    message: "unauthorized: the Tailscale identity does not match the tailnet peer (tailscale whois)",
    next: "update_auth_credentials"
  },
  unauthorized: { code: "AUTH_UNAUTHORIZED", message: "unauthorized", next: "review_auth_configuration" }
}

type AuthCredentialRejectedKind = Extract<AuthError["reason"], { readonly _tag: "AuthCredentialRejected" }>["kind"]
