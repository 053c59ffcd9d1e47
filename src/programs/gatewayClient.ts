/**
 * A client session with a gateway: wait for the challenge, send `connect`, then
 * make requests and read their responses. Used by every CLI command that talks
 * to a gateway (ours or OpenClaw's). The socket comes from the `Transport` in
 * context (direct, or through an SSH forward). Typed calls take a method's Rpc:
 * its payload is encoded and its answer decoded with the method's schemas.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as Rpc from "effect/rpc/Rpc"
import type * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { randomUUID, sign } from "node:crypto"
import type { DeviceIdentity } from "../identity/deviceIdentity.ts"
import { payloadV3, type SignedFields } from "../protocol/deviceAuth.ts"
import { CloseCode, MAX_PAYLOAD_BYTES } from "../protocol/constants.ts"
import type { ErrorShape } from "../protocol/frames.ts"
import { OPERATOR_SCOPES } from "../protocol/scopes.ts"
import { type TlsPin, Transport } from "../services/Transport.ts"
import { GATEHOUSE_VERSION } from "../version.ts"

export class GatewayCallError extends Schema.TaggedError<GatewayCallError>()("GatewayCallError", {
  kind: Schema.Literals(["unreachable", "closed", "timeout", "rejected", "failed"]),
  message: Schema.String,
  code: Schema.optionalKey(Schema.String),
  details: Schema.optionalKey(Schema.Unknown)
}) {}

/** Where to connect and with which credentials. */
export interface Target {
  readonly url: string
  readonly token?: Redacted.Redacted<string> | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  /** Sign the connect with this device identity. */
  readonly device?: DeviceCredentials | undefined
  /** For `wss://`: the certificate pin, and what to do once the gateway presented it. */
  readonly tls?: TargetTls | undefined
  /**
   * The gateway owner on its own host: when the gateway will not take this device
   * (not paired, or its token refused), connect again with the shared secret alone,
   * which a direct loopback client is granted. So the owner can always list,
   * approve and re-pair, even after removing this very device.
   */
  readonly ownerFallback?: boolean | undefined
}

/** The pin a `wss://` target must present; `onVerified` runs once it did (to store a first-use pin). */
export interface TargetTls extends TlsPin {
  readonly onVerified?: Effect.Effect<void, { readonly message: string }> | undefined
}

/** A device identity, the device token stored for it, and where to keep a new one. */
export interface DeviceCredentials {
  readonly identity: DeviceIdentity
  readonly deviceToken?: string | undefined
  readonly bootstrapToken?: string | undefined
  readonly onIssued?: ((token: string, scopes: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /** Called when the gateway refused the stored device token, so it can be forgotten. */
  readonly onRejected?: (() => Effect.Effect<void>) | undefined
}

export interface SessionOptions {
  readonly scopes?: ReadonlyArray<string>
  readonly timeoutMs?: number
  readonly role?: "operator" | "node"
  /** Overrides of the `client` block (node hosts say who they are). */
  readonly client?: { readonly id?: string; readonly mode?: string; readonly displayName?: string; readonly version?: string }
  readonly caps?: ReadonlyArray<string>
  readonly commands?: ReadonlyArray<string>
}

/** A gateway method as declared in `protocol/rpcs`: its tag, payload schema and success schema. */
export type Method<Tag extends string, P extends PayloadSchema, S extends SuccessSchema> = Rpc.Rpc<Tag, P, S, Schema.Top, RpcMiddleware.AnyService, unknown>
/** A payload schema a client can encode with no services. */
export type PayloadSchema = Schema.Top & { readonly "EncodingServices": never }
/** A success schema a client can decode with no services. */
export type SuccessSchema = Schema.Top & { readonly "DecodingServices": never }

export interface Session {
  /** The `hello-ok` payload the gateway answered with. */
  readonly hello: Record<string, unknown>
  /** Sends a request and waits for its response payload, as it came (for methods called by name). */
  readonly request: (method: string, params?: unknown, timeoutMs?: number) => Effect.Effect<unknown, GatewayCallError>
  /** Calls `method` with `payload` and decodes its answer with the method's success schema. */
  readonly call: <Tag extends string, P extends PayloadSchema, S extends SuccessSchema>(
    method: Method<Tag, P, S>,
    payload: P["Type"],
    timeoutMs?: number
  ) => Effect.Effect<S["Type"], GatewayCallError>
  /** Events the gateway sends; ends when the connection closes. */
  readonly events: Queue.Dequeue<Record<string, unknown>, Cause.Done>
}

/** Opens a session for the scope's lifetime, over the `Transport` in context. */
export const openSession = (target: Target, options: SessionOptions = {}): Effect.Effect<Session, GatewayCallError, Transport | Scope.Scope> =>
  target.ownerFallback === true && target.device !== undefined && (target.token !== undefined || target.password !== undefined)
    ? openOnce(target, options).pipe(
      Effect.catchIf(
        (e) => e.kind === "rejected" && (e.code === "PAIRING_REQUIRED" || e.code === "AUTH_DEVICE_TOKEN_MISMATCH"),
        (e) =>
          Effect.andThen(
            Effect.logDebug(`this device is not let in (${e.code}); continuing as the gateway's owner with the gateway secret`),
            openOnce({ ...target, device: undefined }, options)
          )
      )
    )
    : openOnce(target, options)

const openOnce = (target: Target, options: SessionOptions) =>
  Effect.gen(function*() {
    const timeoutMs = options.timeoutMs ?? 10_000
    const inbox = yield* Queue.unbounded<Record<string, unknown>, Cause.Done>()
    const closeInfo = { code: 0, reason: "" }
    const transport = yield* Transport
    const tls = target.tls === undefined ? undefined : { fingerprint: target.tls.fingerprint, pinnedBy: target.tls.pinnedBy }
    const ws = yield* transport.open(target.url, { timeoutMs, maxPayload: MAX_PAYLOAD_BYTES, tls }).pipe(
      Effect.mapError((e) =>
        new GatewayCallError({
          kind: e.reason._tag === "PinMismatch" || e.reason._tag === "Unpinned" ? "rejected" : "unreachable",
          message: e.message,
          ...(e.reason._tag === "PinMismatch" || e.reason._tag === "Unpinned"
            ? { code: e.reason._tag === "PinMismatch" ? "TLS_PIN_MISMATCH" : "TLS_UNPINNED", details: { presented: e.reason.presented } }
            : {})
        })
      )
    )
    // The gateway presented the pinned certificate: a first-use pin may be stored now.
    if (target.tls?.onVerified !== undefined) {
      yield* target.tls.onVerified.pipe(Effect.mapError((e) => new GatewayCallError({ kind: "failed", message: e.message })))
    }
    yield* Effect.sync(() => {
      ws.on("message", (data) => {
        const parsed = Result.try(() => JSON.parse(String(data)) as Record<string, unknown>)
        if (Result.isSuccess(parsed)) Queue.offerUnsafe(inbox, parsed.success)
      })
      ws.once("close", (code, reason) => {
        closeInfo.code = code
        closeInfo.reason = reason.toString()
        Queue.endUnsafe(inbox)
      })
      // Closed between opening and here: there will be no "close" event to wait for.
      if (ws.readyState !== ws.OPEN) Queue.endUnsafe(inbox)
      ws.resume()
    })
    const next = (what: string) =>
      Queue.take(inbox).pipe(
        Effect.catchIf(Cause.isDone, () =>
          Effect.fail(new GatewayCallError({
            kind: "closed",
            message: `gateway closed the connection while ${what} (code ${closeInfo.code}${closeInfo.reason ? `: ${closeInfo.reason}` : ""})`,
            details: { closeCode: closeInfo.code }
          }))),
        Effect.timeoutOrElse({
          duration: timeoutMs,
          orElse: () => Effect.fail(new GatewayCallError({ kind: "timeout", message: `no answer from ${target.url} within ${timeoutMs} ms while ${what}` }))
        })
      )
    const send = (frame: unknown) => Effect.sync(() => ws.send(JSON.stringify(frame)))
    let counter = 0
    const awaitResponse = (id: string, what: string): Effect.Effect<Record<string, unknown>, GatewayCallError> =>
      Effect.gen(function*() {
        while (true) {
          const frame = yield* next(what)
          if (frame.type === "res" && frame.id === id) return frame
        }
      })

    let challenge: Record<string, unknown> | undefined
    while (challenge === undefined) {
      const frame = yield* next("waiting for the connect challenge")
      if (frame.type === "event" && frame.event === "connect.challenge") challenge = frame
    }
    const connectId = `${++counter}:${randomUUID()}`
    const role = options.role ?? "operator"
    const scopes = options.scopes ?? (role === "operator" ? OPERATOR_SCOPES : [])
    const client = {
      id: options.client?.id ?? "cli",
      version: options.client?.version ?? GATEHOUSE_VERSION,
      platform: process.platform,
      deviceFamily: deviceFamily(),
      mode: options.client?.mode ?? "cli",
      instanceId: randomUUID(),
      ...(options.client?.displayName === undefined ? {} : { displayName: options.client.displayName })
    }
    const device = target.device
    const auth = {
      ...(target.token === undefined ? {} : { token: Redacted.value(target.token) }),
      ...(target.password === undefined ? {} : { password: Redacted.value(target.password) }),
      ...(device?.deviceToken === undefined || target.token !== undefined || target.password !== undefined ? {} : { deviceToken: device.deviceToken }),
      ...(device?.bootstrapToken === undefined ? {} : { bootstrapToken: device.bootstrapToken })
    }
    const nonce = (challenge.payload as { nonce?: unknown } | undefined)?.nonce
    const signedAt = (challenge.payload as { ts?: unknown } | undefined)?.ts
    const proof = device === undefined || typeof nonce !== "string" ? undefined : signProof(device.identity, {
      clientId: client.id,
      clientMode: client.mode,
      role,
      scopes,
      signedAtMs: typeof signedAt === "number" ? signedAt : 0,
      token: auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? "",
      nonce,
      platform: client.platform,
      deviceFamily: client.deviceFamily
    })
    yield* send({
      type: "req",
      id: connectId,
      method: "connect",
      params: {
        minProtocol: 3,
        maxProtocol: 4,
        client,
        caps: options.caps ?? [],
        ...(options.commands === undefined ? {} : { commands: options.commands }),
        role,
        scopes,
        auth,
        ...(proof === undefined ? {} : { device: proof })
      }
    })
    const helloFrame = yield* awaitResponse(connectId, "connecting")
    if (helloFrame.ok !== true) {
      const detail = ((helloFrame.error as ErrorShape | undefined)?.details as { code?: unknown } | undefined)?.code
      if (detail === "AUTH_DEVICE_TOKEN_MISMATCH" && auth.deviceToken !== undefined && device?.onRejected !== undefined) yield* device.onRejected()
      return yield* rejectedBy(helloFrame.error, "rejected")
    }
    const hello = helloFrame.payload as Record<string, unknown>
    const issued = hello.auth as { deviceToken?: unknown; scopes?: ReadonlyArray<string> } | undefined
    if (device?.onIssued !== undefined && typeof issued?.deviceToken === "string") {
      yield* device.onIssued(issued.deviceToken, issued.scopes ?? [])
    }

    // From here on, one fiber routes responses to their callers and events to `events`.
    const waiting = new Map<string, Deferred.Deferred<Record<string, unknown>, GatewayCallError>>()
    const events = yield* Queue.unbounded<Record<string, unknown>, Cause.Done>()
    const closedError = () =>
      new GatewayCallError({
        kind: "closed",
        message: `gateway closed the connection (code ${closeInfo.code}${closeInfo.reason ? `: ${closeInfo.reason}` : ""})`,
        details: { closeCode: closeInfo.code }
      })
    yield* Effect.forkScoped(
      Effect.gen(function*() {
        while (true) {
          const frame = yield* Queue.take(inbox)
          if (frame.type === "res" && typeof frame.id === "string") {
            const d = waiting.get(frame.id)
            waiting.delete(frame.id)
            if (d !== undefined) yield* Deferred.succeed(d, frame)
          } else if (frame.type === "event") {
            Queue.offerUnsafe(events, frame)
          }
        }
      }).pipe(
        Effect.catchIf(Cause.isDone, () => Effect.void),
        Effect.ensuring(Effect.suspend(() => {
          Queue.endUnsafe(events)
          const all = [...waiting.values()]
          waiting.clear()
          return Effect.forEach(all, (d) => Deferred.fail(d, closedError()), { discard: true })
        }))
      )
    )
    const request = (method: string, params?: unknown, timeout = timeoutMs) =>
      Effect.gen(function*() {
        const id = `${++counter}:${randomUUID()}`
        const answer = yield* Deferred.make<Record<string, unknown>, GatewayCallError>()
        waiting.set(id, answer)
        if (ws.readyState !== ws.OPEN) return yield* closedError()
        yield* send({ type: "req", id, method, ...(params === undefined ? {} : { params }) })
        const res = yield* Deferred.await(answer).pipe(
          Effect.timeoutOrElse({
            duration: timeout,
            orElse: () => Effect.fail(new GatewayCallError({ kind: "timeout", message: `no answer to ${method} from ${target.url} within ${timeout} ms` }))
          }),
          Effect.ensuring(Effect.sync(() => waiting.delete(id)))
        )
        if (res.ok !== true) return yield* rejectedBy(res.error, "failed")
        return res.payload
      })
    const call: Session["call"] = (method, payload, timeout) =>
      Effect.gen(function*() {
        const params = yield* encodePayload(method, payload)
        // An empty payload goes without params, as OpenClaw's own CLI sends `health`.
        const answer = yield* request(method._tag, Predicate.isObject(params) && Object.keys(params).length === 0 ? undefined : params, timeout)
        return yield* decodeSuccess(method, answer)
      })
    return { hello, request, call, events } satisfies Session
  })

/**
 * Whether a call ended because the gateway revoked the very credentials it ran
 * under (close code 4001): the gateway closes that way only after the change it
 * was asked for took effect.
 */
export const endedByOwnRevocation = (e: { readonly _tag?: string }): boolean =>
  e instanceof GatewayCallError && e.kind === "closed" && (e.details as { closeCode?: unknown } | undefined)?.closeCode === CloseCode.credentialsRevoked

/** Connects, calls the method named `method`, and closes; the answer comes back as sent. */
export const callGateway = (target: Target, method: string, params?: unknown, options?: SessionOptions) =>
  Effect.scoped(Effect.flatMap(openSession(target, options), (s) => Effect.map(s.request(method, params), (payload) => ({ hello: s.hello, payload }))))

/** Connects, calls `method` with `payload`, decodes its answer with the method's schema, and closes. */
export const callRpc = <Tag extends string, P extends PayloadSchema, S extends SuccessSchema>(
  target: Target,
  method: Method<Tag, P, S>,
  payload: P["Type"],
  options?: SessionOptions
) => Effect.scoped(Effect.flatMap(openSession(target, options), (s) => Effect.map(s.call(method, payload), (result) => ({ hello: s.hello, payload: result }))))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const signProof = (identity: DeviceIdentity, fields: Omit<SignedFields, "deviceId">) => ({
  id: identity.deviceId,
  publicKey: identity.publicKey,
  signature: sign(null, Buffer.from(payloadV3({ ...fields, deviceId: identity.deviceId })), identity.privateKey).toString("base64url"),
  signedAt: fields.signedAtMs,
  nonce: fields.nonce
})

const deviceFamily = () => (process.platform === "linux" ? "Linux" : process.platform === "darwin" ? "Mac" : process.platform)

const rejectedBy = (error: unknown, kind: "rejected" | "failed") => {
  const shape = error as ErrorShape | undefined
  const detailCode = (shape?.details as { code?: unknown } | undefined)?.code
  return Effect.fail(new GatewayCallError({
    kind,
    message: shape?.message ?? "the gateway refused without a reason",
    ...(shape?.code === undefined ? {} : { code: typeof detailCode === "string" ? detailCode : shape.code }),
    ...(shape?.details === undefined ? {} : { details: shape.details })
  }))
}

// Payloads and answers travel as JSON: encode and decode through each schema's JSON codec.
const encodePayload = <P extends PayloadSchema>(method: { readonly _tag: string; readonly payloadSchema: P }, payload: P["Type"]) =>
  Schema.encodeUnknownEffect(Schema.toCodecJson(method.payloadSchema))(payload).pipe(
    Effect.mapError((e) => new GatewayCallError({ kind: "failed", message: `invalid ${method._tag} params: ${e.message}` }))
  )

const decodeSuccess = <S extends SuccessSchema>(method: { readonly _tag: string; readonly successSchema: S }, answer: unknown) =>
  Schema.decodeUnknownEffect(Schema.toCodecJson(method.successSchema))(answer).pipe(
    Effect.mapError((e) =>
      new GatewayCallError({
        kind: "failed",
        message: `the gateway's answer to ${method._tag} is not what this client understands (${e.message.replace(/\n\s*/g, " ")}); ` +
          `client and gateway versions may differ, \`gatehouse gateway call ${method._tag}\` shows the raw answer`
      })
    )
  )
