/**
 * The `connect` request's params and the `hello-ok` answer, as OpenClaw clients
 * send and expect them (protocol v3 and v4).
 */
import * as Schema from "effect/Schema"
import type { StateVersion } from "./frames.ts"

/** Client ids OpenClaw's protocol admits; anything else is refused at connect. */
export const CLIENT_IDS = [
  "webchat-ui",
  "openclaw-control-ui",
  "openclaw-tui",
  "webchat",
  "cli",
  "gateway-client",
  "openclaw-macos",
  "openclaw-ios",
  "openclaw-android",
  "node-host",
  "test",
  "fingerprint",
  "openclaw-probe"
] as const

export const CLIENT_MODES = ["webchat", "cli", "ui", "backend", "node", "probe", "test"] as const

export const ROLES = ["operator", "node"] as const
export type Role = typeof ROLES[number]

const NonEmpty = Schema.String.check(Schema.isNonEmpty())
const ProtocolNumber = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

export const ClientInfo = Schema.Struct({
  id: Schema.Literals(CLIENT_IDS),
  displayName: Schema.optionalKey(Schema.String),
  version: Schema.String,
  platform: Schema.String,
  deviceFamily: Schema.optionalKey(Schema.String),
  modelIdentifier: Schema.optionalKey(Schema.String),
  mode: Schema.Literals(CLIENT_MODES),
  instanceId: Schema.optionalKey(Schema.String)
})
export type ClientInfo = typeof ClientInfo.Type

export const DeviceProof = Schema.Struct({
  id: NonEmpty,
  publicKey: NonEmpty,
  signature: NonEmpty,
  signedAt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  nonce: Schema.String
})
export type DeviceProof = typeof DeviceProof.Type

export const ConnectAuth = Schema.Struct({
  token: Schema.optionalKey(Schema.String),
  bootstrapToken: Schema.optionalKey(Schema.String),
  deviceToken: Schema.optionalKey(Schema.String),
  password: Schema.optionalKey(Schema.String)
})
export type ConnectAuth = typeof ConnectAuth.Type

export const ConnectParams = Schema.Struct({
  minProtocol: ProtocolNumber,
  maxProtocol: ProtocolNumber,
  client: ClientInfo,
  caps: Schema.optionalKey(Schema.Array(Schema.String)),
  commands: Schema.optionalKey(Schema.Array(Schema.String)),
  permissions: Schema.optionalKey(Schema.Record(Schema.String, Schema.Boolean)),
  pathEnv: Schema.optionalKey(Schema.String),
  role: Schema.optionalKey(Schema.String),
  scopes: Schema.optionalKey(Schema.Array(Schema.String)),
  device: Schema.optionalKey(DeviceProof),
  auth: Schema.optionalKey(ConnectAuth),
  locale: Schema.optionalKey(Schema.String),
  userAgent: Schema.optionalKey(Schema.String)
})
export type ConnectParams = typeof ConnectParams.Type

/** One entry of the presence list. */
export interface PresenceEntry {
  readonly host?: string
  readonly ip?: string
  readonly version?: string
  readonly platform?: string
  readonly deviceFamily?: string
  readonly mode?: string
  readonly reason?: string
  readonly instanceId?: string
  readonly roles?: ReadonlyArray<string>
  readonly text?: string
  readonly ts: number
}

/** The payload of a successful `connect` response. */
export interface HelloOk {
  readonly type: "hello-ok"
  readonly protocol: number
  readonly server: { readonly version: string; readonly connId: string }
  readonly features: {
    readonly methods: ReadonlyArray<string>
    readonly events: ReadonlyArray<string>
    readonly capabilities?: ReadonlyArray<string>
  }
  readonly snapshot: {
    readonly presence: ReadonlyArray<PresenceEntry>
    readonly health: unknown
    readonly stateVersion: StateVersion
    readonly uptimeMs: number
  }
  readonly auth: {
    readonly method: string
    readonly role: Role
    readonly scopes: ReadonlyArray<string>
    readonly deviceToken?: string
    readonly issuedAtMs?: number
  }
  readonly policy: { readonly maxPayload: number; readonly maxBufferedBytes: number; readonly tickIntervalMs: number }
}

/** Picks the highest protocol version both sides speak, if any. */
export const negotiateProtocol = (
  min: number,
  max: number,
  supported: ReadonlyArray<number>
): number | undefined => {
  let best: number | undefined
  for (const v of supported) if (v >= min && v <= max && (best === undefined || v > best)) best = v
  return best
}
