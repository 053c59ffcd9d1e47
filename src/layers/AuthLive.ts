/**
 * Auth for a gateway process: shared secrets (token, password, `none` on
 * loopback) resolved afresh for every connection and compared in constant time,
 * device signatures, device tokens and setup codes through DevicePairing, a
 * trusted proxy's user header (auth mode trusted-proxy) and Tailscale Serve
 * identity confirmed with `tailscale whois`. Every credential check passes the
 * RateLimiter first; wrong credentials, forged proofs and a Tailscale login that
 * whois contradicts count against the client, missing ones and a skewed clock do
 * not. Counts are kept per credential kind: before anything is verified every kind
 * the attempt presents must be allowed, and afterwards every kind that was
 * verified and wrong is counted, whatever the outcome (a pairing request
 * included), so extra fields or an unpaired role cannot carry a guess past its count.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Semaphore from "effect/Semaphore"
import type { Admitted, Principal, TransportInfo } from "../auth/principal.ts"
import { secretEquals } from "../auth/secretEquals.ts"
import { tailscaleClaim, trustedProxyUser } from "../auth/proxyIdentity.ts"
import { addressSetOf } from "../net/addressSet.ts"
import { makeWhois, type Whois } from "../net/tailscaleWhois.ts"
import type { ProxyIdentityConfig } from "../config/proxyIdentity.ts"
import { canonicalIp, isLoopbackIp } from "../net/ip.ts"
import { clientKey } from "../net/clientKey.ts"
import type { Secrets } from "../config/resolve.ts"
import type { AuthMode } from "../config/schema.ts"
import type { Ask } from "../pairing/policy.ts"
import type { ConnectAuth, ConnectParams, Role } from "../protocol/connect.ts"
import { verifyDeviceProof } from "../protocol/deviceAuth.ts"
import { grant, OPERATOR_SCOPES } from "../protocol/scopes.ts"
import {
  Auth,
  AuthCredentialRejected,
  AuthDeviceIdentityRequired,
  AuthDeviceProofInvalid,
  AuthError,
  AuthInvalidRole,
  AuthPairingLimit,
  AuthPairingRequired,
  AuthRateLimited,
  AuthSetupCodeInvalid,
  AuthUnavailable
} from "../services/Auth.ts"
import { type Admission, DevicePairing, type DevicePairingError } from "../services/DevicePairing.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { countRateLimit } from "../observability/metrics.ts"
import { RateLimiter, type RateLimiterError, type Verdict } from "../services/RateLimiter.ts"
import { CREDENTIAL_KINDS, type CredentialKind, presentedKinds } from "../auth/credentialKind.ts"

export const layer = Layer.effect(
  Auth,
  Effect.gen(function*() {
    const { live: current, refresh } = yield* GatewayConfig
    const pairing = yield* DevicePairing
    const limiter = yield* RateLimiter
    const whois = makeWhois()

    const decide = Effect.fn("Auth.decide")(function*(params: ConnectParams, transport: TransportInfo, challengeNonce: string, wrong: Wrong) {
      const claimed = params.role ?? "operator"
      if (claimed !== "operator" && claimed !== "node") return yield* fail(new AuthInvalidRole({ role: claimed }))
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
        const failure = verifyDeviceProof(device, {
          clientId: params.client.id,
          clientMode: params.client.mode,
          role,
          scopes: params.scopes ?? [],
          token: params.auth?.token ?? params.auth?.deviceToken ?? params.auth?.bootstrapToken ?? "",
          platform: params.client.platform,
          deviceFamily: params.client.deviceFamily
        }, challengeNonce, yield* Clock.currentTimeMillis)
        if (failure !== undefined) {
          if (COUNTED_PROOFS.has(failure)) wrong.set("device-signature", failure.toLowerCase())
          return yield* fail(new AuthDeviceProofInvalid({ failure }))
        }
      }

      const auth = params.auth ?? {}
      if (ask !== undefined && auth.bootstrapToken !== undefined && auth.bootstrapToken !== "") {
        const admission = yield* pairing.redeemSetupCode(ask, auth.bootstrapToken).pipe(
          Effect.catchReason("DevicePairingError", "PairingRefused", (r) => {
            wrong.set("bootstrap-token", "bootstrap_token_invalid")
            return fail(new AuthSetupCodeInvalid({ message: r.message }))
          }),
          Effect.mapError(fromPairing)
        )
        return yield* admitted({ method: "bootstrap-token", role, scopes: requested, deviceId: ask.deviceId }, admission, ask)
      }

      // The config in force now (the files re-read first when changed): a rotated secret or a changed policy applies to this connection.
      const { live } = yield* refresh
      const config = live.config
      // Without Tailscale identity allowed there is no claim to look at (the common case, answered without an effect).
      const tailscale = config.proxyIdentity.allowTailscale ? yield* tailscaleIdentity(config.authMode.value, config.proxyIdentity, transport, whois) : NO_CLAIM
      if (tailscale._tag === "Refused") {
        if (tailscale.reason._tag === "AuthCredentialRejected" && tailscale.reason.kind === "tailscale_user_mismatch") wrong.set("tailscale", "tailscale_user_mismatch")
        return yield* fail(tailscale.reason)
      }
      const shared = tailscale._tag === "Ok"
        ? tailscale
        : sharedSecret(config.authMode.value, auth, transport, live.secrets, (t) => trustedProxyUser(t, config.proxyIdentity.trustedProxy, addressSetOf(config.trustedProxies)))
      if (shared._tag === "Mismatch") wrong.set("shared-secret", shared.kind)
      if (shared._tag === "Ok") {
        const user = shared.user === undefined ? {} : { user: shared.user }
        // Recorded so a rotation of the token or password ends this session (the other methods have no secret to rotate).
        const secretGeneration = shared.method === "token" || shared.method === "password" ? live.secretGeneration : undefined
        // And a change of who may be vouched for ends the sessions a proxy or Tailscale vouched for.
        const identityGeneration = shared.method === "trusted-proxy" || shared.method === "tailscale" ? live.identityGeneration : undefined
        if (ask === undefined) {
          if (role === "node") return yield* fail(new AuthDeviceIdentityRequired())
          // Without a device there is no one to pair: local callers get what they ask for, remote ones only `health`.
          return { principal: { method: shared.method, role, scopes: transport.directLocal ? requested : [], ...user, secretGeneration, identityGeneration } }
        }
        const admission = yield* Effect.mapError(pairing.admit(ask, transport.directLocal && config.autoApproveLocal), fromPairing)
        return yield* admitted({ method: shared.method, role, scopes: requested, deviceId: ask.deviceId, ...user, secretGeneration, identityGeneration }, admission, ask)
      }

      const presented = auth.deviceToken ?? (shared._tag === "Mismatch" ? auth.token : undefined)
      if (ask !== undefined && presented !== undefined && presented !== "") {
        const check = yield* Effect.mapError(pairing.verifyToken(ask, presented), fromPairing)
        // A token field that held this device's right token was no guess at the shared secret; a token field
        // sent beside a device token was one, and stays counted however the device token fares.
        if ((check.ok || check.reason === "scope") && presented === auth.token) wrong.delete("shared-secret")
        if (!check.ok && (check.reason === "mismatch" || check.reason === "revoked")) {
          wrong.set("device-token", check.reason === "revoked" ? "device_token_revoked" : "device_token_mismatch")
        }
        if (check.ok) return { principal: { method: "device-token" as const, role, scopes: check.scopes, deviceId: ask.deviceId } }
        // More scopes, another role or another platform than approved: a pending upgrade, never a grant.
        if (check.reason === "scope" || check.reason === "role" || check.reason === "metadata") {
          const admission = yield* Effect.mapError(pairing.admit(ask, false), fromPairing)
          return yield* admitted({ method: "device-token", role, scopes: requested, deviceId: ask.deviceId }, admission, ask)
        }
        if (auth.deviceToken !== undefined) {
          wrong.set("device-token", check.reason === "revoked" ? "device_token_revoked" : "device_token_mismatch")
          return yield* fail(new AuthCredentialRejected({ kind: check.reason === "revoked" ? "device_token_revoked" : "device_token_mismatch" }))
        }
      }
      if (shared._tag === "Refused") return yield* fail(shared.reason)
      // No device and no credential at all: OpenClaw's clients expect DEVICE_IDENTITY_REQUIRED here.
      if (ask === undefined && (role === "node" || shared._tag === "Missing" && isEmpty(auth))) {
        return yield* fail(new AuthDeviceIdentityRequired())
      }
      return yield* fail(new AuthCredentialRejected({ kind: shared.kind }))
    })

    const oneAtATime = keyedLock()
    const authenticate = Effect.fn("Auth.authenticate")(function*(params: ConnectParams, transport: TransportInfo, challengeNonce: string) {
      // Checked before any credential is looked at: every kind the fields could have us verify must be allowed.
      // A Tailscale claim rides in the proxy's headers, not in the fields: it is checked under its own kind.
      const claimsTailscale = SubscriptionRef.getUnsafe(current).config.proxyIdentity.allowTailscale && tailscaleClaim(transport) !== undefined
      const kinds = claimsTailscale ? [...presentedKinds(params), "tailscale" as const] : presentedKinds(params)
      const checkAll = Effect.map(
        Effect.forEach(kinds, (kind) => Effect.mapError(limiter.check(transport.remoteAddress, kind), fromLimiter)),
        strictest
      )
      const verdict = yield* checkAll
      yield* countRateLimit(verdict._tag)
      if (verdict._tag === "Refuse") return yield* fail(new AuthRateLimited({ retryAfterMs: verdict.retryAfterMs }))
      // Waited out before taking the client's turn, so a delayed (loopback) attempt never holds up the next one.
      if (verdict._tag === "Delay") yield* Effect.sleep(verdict.ms)
      // One client's attempts are decided one at a time, each after checking again: failures that landed while it
      // waited (parallel sockets) are seen, so no socket gets a guess past the limit (memory or Redis alike).
      return yield* oneAtATime(clientKey(transport.remoteAddress), Effect.gen(function*() {
        const again = yield* checkAll
        if (again._tag === "Refuse") {
          yield* countRateLimit(again._tag)
          return yield* fail(new AuthRateLimited({ retryAfterMs: again.retryAfterMs }))
        }
        const wrong: Wrong = new Map()
        // Every kind verified and found wrong counts, whether the attempt failed or ended in a pairing request.
        const countWrong = Effect.suspend(() =>
          wrong.size === 0 ? Effect.void : Effect.forEach([...wrong], ([kind, reason]) => limiter.fail(transport.remoteAddress, reason, kind), { discard: true })
        )
        return yield* decide(params, transport, challengeNonce, wrong).pipe(
          // Counted whatever the outcome: a wrong guess beside a good credential is still a guess.
          Effect.tapError(() => Effect.mapError(countWrong, fromLimiter)),
          Effect.tap(() => Effect.mapError(countWrong, fromLimiter)),
          Effect.tap((admitted) =>
            clearsCount(admitted.principal.method, transport.remoteAddress)
              ? Effect.mapError(
                Effect.forEach(clearedKinds(admitted.principal.method), (kind) => limiter.succeed(transport.remoteAddress, kind), { discard: true }),
                fromLimiter
              )
              : Effect.void)
        )
      }))
    })
    return Auth.of({ authenticate })
  })
)

// A lock per key; an entry lives only while someone holds or waits for it, so the table is bounded by the
// attempts in progress (themselves bounded by the listener's pre-auth socket caps).
const keyedLock = () => {
  const locks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    // Taking a place and giving it back are uninterruptible, so an interrupted attempt never leaves its entry behind.
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const entry = locks.get(key) ?? { semaphore: Semaphore.makeUnsafe(1), users: 0 }
        entry.users++
        locks.set(key, entry)
        return entry
      }),
      (entry) => Semaphore.withPermits(entry.semaphore, 1)(effect),
      (entry) =>
        Effect.sync(() => {
          if (--entry.users === 0) locks.delete(key)
        })
    )
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type Reason = AuthError["reason"]

// A remote count is cleared only by the shared secret itself: otherwise a client holding any weak
// credential (its own device token, a setup code) could reset its count between guesses at the
// gateway's token or password. On loopback (delayed, never locked out) any checked credential clears it.
// `none` checks nothing and clears nothing.
const clearsCount = (method: Principal["method"], address: string): boolean =>
  method === "token" || method === "password" || (method !== "none" && isLoopbackIp(canonicalIp(address)))

const fail = (reason: Reason) => Effect.fail(new AuthError({ reason }))

/** The credential kinds an attempt verified and found wrong, with what the limiter logs. */
type Wrong = Map<CredentialKind, string>

// The gateway's own secret clears every count of the client (it could do anything anyway); another
// credential clears only its own kind.
const clearedKinds = (method: Principal["method"]): ReadonlyArray<CredentialKind> =>
  method === "token" || method === "password"
    ? CREDENTIAL_KINDS
    : method === "device-token"
    ? ["device-token", "device-signature"]
    : method === "bootstrap-token"
    ? ["bootstrap-token", "device-signature"]
    : method === "tailscale"
    ? ["tailscale"]
    : []

/** The strictest of several verdicts: any refusal (the longest wait), else the longest delay, else allow. */
const strictest = (verdicts: ReadonlyArray<Verdict>): Verdict =>
  verdicts.reduce<Verdict>((a, b) => {
    if (a._tag === "Refuse" || b._tag === "Refuse") {
      return a._tag === "Refuse" && (b._tag !== "Refuse" || a.retryAfterMs >= b.retryAfterMs) ? a : b
    }
    if (a._tag === "Delay" || b._tag === "Delay") return a._tag === "Delay" && (b._tag !== "Delay" || a.ms >= b.ms) ? a : b
    return a
  }, { _tag: "Allow" })

// What pairing failures Auth does not turn into a reason of its own mean: it cannot decide now.
const fromPairing = (e: DevicePairingError | AuthError): AuthError =>
  e._tag === "AuthError"
    ? e
    : e.reason._tag === "PairingRefused" && e.reason.code === "pending-limit"
    ? new AuthError({ reason: new AuthPairingLimit({ message: e.reason.message }) })
    : new AuthError({ reason: new AuthUnavailable({ message: e.reason._tag === "SelfApprovalDenied" ? "pairing refused" : e.reason.message }) })

const fromLimiter = (e: RateLimiterError) => new AuthError({ reason: new AuthUnavailable({ message: e.reason.message }) })

// Forged proofs count; a skewed clock or a missing signature does not.
const COUNTED_PROOFS = new Set<string>([
  "DEVICE_AUTH_SIGNATURE_INVALID",
  "DEVICE_AUTH_DEVICE_ID_MISMATCH",
  "DEVICE_AUTH_PUBLIC_KEY_INVALID",
  "DEVICE_AUTH_NONCE_MISMATCH"
])

type SharedResult =
  | { readonly _tag: "Ok"; readonly method: "token" | "password" | "none" | "trusted-proxy" | "tailscale"; readonly user?: string }
  | { readonly _tag: "Missing"; readonly kind: AuthCredentialRejected["kind"] }
  | { readonly _tag: "Mismatch"; readonly kind: AuthCredentialRejected["kind"] }
  | { readonly _tag: "Refused"; readonly reason: Reason }

// Checks the shared secret of the configured mode, as the config in force for this connection has it (no I/O: a plain function).
const sharedSecret = (
  mode: AuthMode,
  auth: ConnectAuth,
  transport: TransportInfo,
  secrets: Secrets,
  proxyUser: (transport: TransportInfo) => ReturnType<typeof trustedProxyUser>
): SharedResult => {
  const current = { success: secrets }
  switch (mode) {
    case "none":
      return transport.directLocal
        ? { _tag: "Ok", method: "none" } as const
        : { _tag: "Refused", reason: new AuthCredentialRejected({ kind: "unauthorized", detail: "auth mode none accepts only direct loopback clients" }) } as const
    case "token": {
      const expected = current.success.token?.value
      if (expected === undefined) return { _tag: "Missing", kind: "token_missing_config" } as const
      if (auth.token === undefined || auth.token === "") return { _tag: "Missing", kind: "token_missing" } as const
      return secretEquals(auth.token, Redacted.value(expected)) ? { _tag: "Ok", method: "token" } as const : { _tag: "Mismatch", kind: "token_mismatch" } as const
    }
    case "password": {
      const expected = current.success.password?.value
      if (expected === undefined) return { _tag: "Missing", kind: "password_missing_config" } as const
      if (auth.password === undefined || auth.password === "") return { _tag: "Missing", kind: "password_missing" } as const
      return secretEquals(auth.password, Redacted.value(expected))
        ? { _tag: "Ok", method: "password" } as const
        : { _tag: "Mismatch", kind: "password_mismatch" } as const
    }
    case "trusted-proxy": {
      const verdict = proxyUser(transport)
      return verdict._tag === "User"
        ? { _tag: "Ok", method: "trusted-proxy", user: verdict.user } as const
        : { _tag: "Refused", reason: new AuthCredentialRejected({ kind: verdict.kind, detail: verdict.detail }) } as const
    }
  }
}

type TailscaleResult =
  | { readonly _tag: "Ok"; readonly method: "tailscale"; readonly user: string }
  | { readonly _tag: "NoClaim" }
  | { readonly _tag: "Refused"; readonly reason: Reason }

// Tailscale Serve identity, when allowed: only a request shaped like Serve's (loopback peer, its forwarded
// headers) makes a claim, and the claim stands only if `tailscale whois` on the forwarded address agrees.
const tailscaleIdentity = (mode: AuthMode, proxy: ProxyIdentityConfig, transport: TransportInfo, whois: Whois): Effect.Effect<TailscaleResult> =>
  Effect.gen(function*() {
    if (!proxy.allowTailscale || (mode !== "token" && mode !== "password")) return { _tag: "NoClaim" } as const
    const claim = tailscaleClaim(transport)
    if (claim === undefined) return { _tag: "NoClaim" } as const
    const answer = yield* whois.lookup(claim.clientIp)
    if (answer._tag === "Failed") {
      yield* Effect.logWarning(`Tailscale identity not confirmed: ${answer.message}`)
      return { _tag: "Refused", reason: new AuthCredentialRejected({ kind: "tailscale_whois_failed", detail: "tailscale whois could not confirm the user" }) } as const
    }
    if (answer.login !== claim.login) {
      return { _tag: "Refused", reason: new AuthCredentialRejected({ kind: "tailscale_user_mismatch" }) } as const
    }
    return { _tag: "Ok", method: "tailscale", user: claim.login } as const
  })

const NO_CLAIM: TailscaleResult = { _tag: "NoClaim" }

const isEmpty = (auth: ConnectAuth) => Object.values(auth).every((v) => v === undefined || v === "")

// Turns a pairing admission into the connection's principal, or pairing-required.
const admitted = (principal: Principal, admission: Admission, ask: Ask): Effect.Effect<Admitted, AuthError> =>
  admission._tag === "Paired"
    ? Effect.succeed({ principal, deviceToken: { token: admission.token, issuedAtMs: admission.issuedAtMs } })
    : fail(new AuthPairingRequired({
      requestId: admission.request.requestId,
      reason: admission.request.reason,
      deviceId: ask.deviceId,
      role: ask.role,
      scopes: [...ask.scopes]
    }))
