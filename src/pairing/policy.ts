/**
 * Pairing as pure transitions over `PairingState`: classify a connecting device,
 * open or refresh a pending request, approve, reject, remove, rotate, revoke,
 * verify device tokens and redeem setup codes. Time and fresh ids are passed in,
 * so every rule is testable (and property-tested) without I/O.
 */
import { createHash } from "node:crypto"
import { secretEquals } from "../auth/secretEquals.ts"
import { own } from "./records.ts"
import { normalizeMetadata } from "../protocol/deviceAuth.ts"
import { satisfies } from "../protocol/scopes.ts"
import {
  type DeviceToken,
  type PairedDevice,
  type PairingReason,
  type PairingState,
  PENDING_TTL_MS,
  type PendingRequest,
  type SetupCode
} from "./model.ts"
import { withoutRow, withRow } from "../fs/tableRows.ts"

/** What a connecting device asks for. */
export interface Ask {
  readonly deviceId: string
  readonly publicKey: string
  readonly role: string
  readonly scopes: ReadonlyArray<string>
  readonly clientId: string
  readonly clientMode: string
  readonly displayName?: string | undefined
  readonly platform?: string | undefined
  readonly deviceFamily?: string | undefined
  readonly remoteIp?: string | undefined
}

/** Why a pairing operation was refused, with the message to show. */
export interface Refusal {
  readonly code:
    | "unknown-request"
    | "unknown-device"
    | "caller-missing-scope"
    | "scope-outside-approved"
    | "role-not-approved"
    | "pending-limit"
    | "setup-code-invalid"
  readonly message: string
}

/** Fresh values a transition may need. */
export interface Fresh {
  readonly now: number
  readonly id: () => string
  readonly token: () => string
}

export type Outcome<A, S = PairingState> = { readonly ok: true; readonly value: A; readonly state: S } | { readonly ok: false; readonly refusal: Refusal }

const refuse = (code: Refusal["code"], message: string): Outcome<never> => ({ ok: false, refusal: { code, message } })

/** Drops pending requests older than the TTL and expired or redeemed setup codes. */
export const prune = (state: PairingState, now: number): PairingState => {
  const pending = Object.fromEntries(Object.entries(state.pending).filter(([, p]) => now - p.ts < PENDING_TTL_MS))
  const setupCodes = Object.fromEntries(
    Object.entries(state.setupCodes).filter(([, c]) => c.redeemedAtMs === undefined && now < c.expiresAtMs)
  )
  return Object.keys(pending).length === Object.keys(state.pending).length &&
      Object.keys(setupCodes).length === Object.keys(state.setupCodes).length
    ? state
    : { ...state, pending, setupCodes }
}

/** Roles a paired device may use now: approved roles that hold a token that is not revoked. */
export const effectiveRoles = (device: PairedDevice): ReadonlyArray<string> =>
  device.roles.filter((r) => {
    const t = own(device.tokens, r)
    return t !== undefined && t.revokedAtMs === undefined
  })

/** Whether the device may connect as asked, or why it must be (re)approved. */
export const classify = (state: PairingState, ask: Ask): PairingReason | undefined => {
  const device = own(state.paired, ask.deviceId)
  if (device === undefined || device.publicKey !== ask.publicKey) return "not-paired"
  if (!effectiveRoles(device).includes(ask.role)) return "role-upgrade"
  if (!ask.scopes.every((s) => satisfies(device.approvedScopes, s))) return "scope-upgrade"
  if (changedMetadata(device, ask)) return "metadata-upgrade"
  return undefined
}

/**
 * Opens a pending request, or refreshes the device's existing one. An identical
 * ask keeps its requestId and original `ts` (clients retry every few seconds and
 * the id an operator copied must keep working); a different ask replaces it.
 */
export const requestPairing = (
  state: PairingState,
  ask: Ask,
  reason: PairingReason,
  silent: boolean,
  fresh: Fresh
): { readonly request: PendingRequest; readonly created: boolean; readonly state: PairingState } => {
  const existing = Object.values(state.pending).find((p) => p.deviceId === ask.deviceId)
  const scopes = [...new Set(ask.scopes)].sort()
  const metadata = {
    clientId: ask.clientId,
    clientMode: ask.clientMode,
    ...(ask.displayName === undefined ? {} : { displayName: ask.displayName }),
    ...(ask.platform === undefined ? {} : { platform: ask.platform }),
    ...(ask.deviceFamily === undefined ? {} : { deviceFamily: ask.deviceFamily }),
    ...(ask.remoteIp === undefined ? {} : { remoteIp: ask.remoteIp })
  }
  if (
    existing !== undefined && existing.publicKey === ask.publicKey && existing.role === ask.role &&
    sameSet(existing.scopes, scopes) && existing.reason === reason
  ) {
    const request: PendingRequest = { ...existing, ...metadata, silent: existing.silent && silent }
    return { request, created: false, state: { ...state, pending: withRow(state.pending, request.requestId, request) } }
  }
  const request: PendingRequest = {
    requestId: fresh.id(),
    deviceId: ask.deviceId,
    publicKey: ask.publicKey,
    ...metadata,
    role: ask.role,
    roles: [...new Set([...(existing?.publicKey === ask.publicKey ? existing.roles : []), ask.role])].sort(),
    scopes,
    silent,
    isRepair: own(state.paired, ask.deviceId) !== undefined,
    reason,
    ts: fresh.now
  }
  const pending = withRow(existing === undefined ? state.pending : withoutRow(state.pending, existing.requestId), request.requestId, request)
  return { request, created: true, state: { ...state, pending } }
}

/** Who approves: an operator with these scopes, or the gateway itself (loopback, setup code). */
export type Approver = { readonly _tag: "Operator"; readonly scopes: ReadonlyArray<string> } | { readonly _tag: "Gateway"; readonly via: "silent" | "setup-code" }

/** Approves a pending request: merges roles and scopes and mints a token per requested role. */
export const approve = (state: PairingState, requestId: string, approver: Approver, fresh: Fresh): Outcome<PairedDevice> => {
  const request = own(state.pending, requestId)
  if (request === undefined) {
    return refuse("unknown-request", `unknown requestId ${requestId}: it expired (5 minutes) or was replaced; run \`gatehouse devices list\` for current requests`)
  }
  if (approver._tag === "Operator") {
    const missing = request.scopes.filter((s) => !satisfies(approver.scopes, s))
    if (missing.length > 0) {
      return refuse("caller-missing-scope", `approving this request needs ${missing.join(", ")}, which the approving operator does not hold`)
    }
  }
  const previous = own(state.paired, request.deviceId)
  const keep = previous !== undefined && previous.publicKey === request.publicKey ? previous : undefined
  const roles = [...new Set([...(keep?.roles ?? []), ...request.roles])].sort()
  const approvedScopes = [...new Set([...(keep?.approvedScopes ?? []), ...request.scopes])].sort()
  const tokens: Record<string, DeviceToken> = { ...(keep?.tokens ?? {}) }
  for (const role of request.roles) {
    tokens[role] = {
      token: fresh.token(),
      role,
      scopes: role === "operator" ? approvedScopes : [],
      createdAtMs: fresh.now,
      ...(own(tokens, role) === undefined ? {} : { rotatedAtMs: fresh.now })
    }
  }
  const device: PairedDevice = {
    deviceId: request.deviceId,
    publicKey: request.publicKey,
    ...pick(request, ["displayName", "platform", "deviceFamily", "clientId", "clientMode", "remoteIp"]),
    roles,
    approvedScopes,
    tokens,
    approvedVia: approver._tag === "Operator" ? "owner" : approver.via,
    createdAtMs: keep?.createdAtMs ?? fresh.now,
    approvedAtMs: fresh.now,
    ...(keep?.label === undefined ? {} : { label: keep.label })
  }
  return { ok: true, value: device, state: { ...state, pending: withoutRow(state.pending, requestId), paired: withRow(state.paired, device.deviceId, device) } }
}

/** Rejects a pending request. */
export const reject = (state: PairingState, requestId: string): Outcome<PendingRequest> => {
  const request = own(state.pending, requestId)
  if (request === undefined) {
    return refuse("unknown-request", `unknown requestId ${requestId}; run \`gatehouse devices list\` for current requests`)
  }
  return { ok: true, value: request, state: { ...state, pending: withoutRow(state.pending, requestId) } }
}

/** Gives a paired device the operator's name for it. */
export const rename = (state: PairingState, deviceId: string, label: string): Outcome<PairedDevice> => {
  const device = own(state.paired, deviceId)
  if (device === undefined) return refuse("unknown-device", `no paired device ${deviceId}; run \`gatehouse devices list\``)
  const renamed: PairedDevice = { ...device, label }
  return { ok: true, value: renamed, state: { ...state, paired: withRow(state.paired, deviceId, renamed) } }
}

/** Forgets a paired device (its tokens with it). */
export const remove = (state: PairingState, deviceId: string): Outcome<PairedDevice> => {
  const device = own(state.paired, deviceId)
  if (device === undefined) return refuse("unknown-device", `no paired device ${deviceId}; run \`gatehouse devices list\``)
  return { ok: true, value: device, state: { ...state, paired: withoutRow(state.paired, deviceId) } }
}

/**
 * Mints a new token for a device's role. The new scopes (default: the old
 * token's) must lie within the device's approved scopes and the caller's scopes.
 */
export const rotate = (
  state: PairingState,
  deviceId: string,
  role: string,
  scopes: ReadonlyArray<string> | undefined,
  callerScopes: ReadonlyArray<string>,
  fresh: Fresh
): Outcome<DeviceToken> => {
  const device = own(state.paired, deviceId)
  if (device === undefined) return refuse("unknown-device", `no paired device ${deviceId}; run \`gatehouse devices list\``)
  if (!device.roles.includes(role)) return refuse("role-not-approved", `device ${deviceId} is not approved for role ${role}`)
  const wanted = [...new Set(scopes ?? own(device.tokens, role)?.scopes ?? [])].sort()
  const outside = wanted.filter((s) => !satisfies(device.approvedScopes, s))
  if (outside.length > 0) {
    return refuse("scope-outside-approved", `device token rotation denied: ${outside.join(", ")} not approved for this device (approve a scope upgrade first)`)
  }
  const beyondCaller = wanted.filter((s) => !satisfies(callerScopes, s))
  if (beyondCaller.length > 0) {
    return refuse("caller-missing-scope", `device token rotation denied: ${beyondCaller.join(", ")} exceeds your own scopes`)
  }
  const token: DeviceToken = { token: fresh.token(), role, scopes: role === "operator" ? wanted : [], createdAtMs: fresh.now, rotatedAtMs: fresh.now }
  const updated: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: token } }
  return { ok: true, value: token, state: { ...state, paired: withRow(state.paired, deviceId, updated) } }
}

/** Revokes a device's token for a role. */
export const revoke = (state: PairingState, deviceId: string, role: string, now: number): Outcome<DeviceToken> => {
  const device = own(state.paired, deviceId)
  if (device === undefined) return refuse("unknown-device", `no paired device ${deviceId}; run \`gatehouse devices list\``)
  const current = own(device.tokens, role)
  if (current === undefined) return refuse("role-not-approved", `device ${deviceId} has no ${role} token`)
  const token: DeviceToken = { ...current, revokedAtMs: current.revokedAtMs ?? now }
  const updated: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: token } }
  return { ok: true, value: token, state: { ...state, paired: withRow(state.paired, deviceId, updated) } }
}

/**
 * Revokes every token of devices the gateway approved silently: they were minted
 * to whoever held the shared secret on loopback, so a new secret ends them.
 * Operator-approved and setup-code devices keep theirs. Returns the device ids.
 */
export const revokeSilent = (state: PairingState, now: number): { readonly deviceIds: ReadonlyArray<string>; readonly state: PairingState } => {
  const deviceIds: Array<string> = []
  const paired = { ...state.paired }
  for (const device of Object.values(state.paired)) {
    if (device.approvedVia !== "silent") continue
    const live = Object.values(device.tokens).filter((t) => t.revokedAtMs === undefined)
    if (live.length === 0) continue
    deviceIds.push(device.deviceId)
    const tokens = Object.fromEntries(Object.entries(device.tokens).map(([role, t]) => [role, t.revokedAtMs === undefined ? { ...t, revokedAtMs: now } : t]))
    paired[device.deviceId] = { ...device, tokens }
  }
  return deviceIds.length === 0 ? { deviceIds, state } : { deviceIds, state: { ...state, paired } }
}

/**
 * The token a paired device gets in `hello-ok`: its current one when it covers the
 * requested scopes, else a new one; undefined when the role is not usable.
 */
export const ensureToken = (
  state: PairingState,
  deviceId: string,
  role: string,
  scopes: ReadonlyArray<string>,
  fresh: Fresh
): { readonly token: DeviceToken; readonly state: PairingState } | undefined => {
  const device = own(state.paired, deviceId)
  if (device === undefined || !effectiveRoles(device).includes(role)) return undefined
  if (!scopes.every((s) => satisfies(device.approvedScopes, s))) return undefined
  const current = own(device.tokens, role)
  if (current !== undefined && current.revokedAtMs === undefined && scopes.every((s) => satisfies(current.scopes, s))) {
    return { token: current, state }
  }
  const token: DeviceToken = {
    token: fresh.token(),
    role,
    scopes: role === "operator" ? device.approvedScopes : [],
    createdAtMs: fresh.now,
    ...(current === undefined ? {} : { rotatedAtMs: fresh.now })
  }
  return { token, state: { ...state, paired: withRow(state.paired, deviceId, { ...device, tokens: { ...device.tokens, [role]: token } }) } }
}

export type TokenCheck =
  | { readonly ok: true; readonly scopes: ReadonlyArray<string> }
  | { readonly ok: false; readonly reason: "not-paired" | "role" | "revoked" | "mismatch" | "scope" | "metadata" }

/**
 * Checks a presented device token; the granted scopes stay within token and approved
 * scopes, and a platform or device family other than the approved one is a metadata
 * upgrade (a token copied to another kind of device does not carry its approval).
 */
export const verifyToken = (
  state: PairingState,
  deviceId: string,
  publicKey: string,
  role: string,
  presented: string,
  requested: ReadonlyArray<string>,
  metadata?: { readonly platform?: string | undefined; readonly deviceFamily?: string | undefined }
): TokenCheck => {
  const device = own(state.paired, deviceId)
  if (device === undefined || device.publicKey !== publicKey) return { ok: false, reason: "not-paired" }
  const token = own(device.tokens, role)
  if (token === undefined || !device.roles.includes(role)) return { ok: false, reason: "role" }
  if (!secretEquals(presented, token.token)) return { ok: false, reason: "mismatch" }
  if (token.revokedAtMs !== undefined) return { ok: false, reason: "revoked" }
  const ceiling = token.scopes.filter((s) => satisfies(device.approvedScopes, s))
  if (!requested.every((s) => satisfies(ceiling, s))) return { ok: false, reason: "scope" }
  if (metadata !== undefined && changedMetadata(device, metadata)) return { ok: false, reason: "metadata" }
  return { ok: true, scopes: requested }
}

/** Records a setup code (only its hash). */
export const addSetupCode = (
  state: PairingState,
  token: string,
  role: "operator" | "node",
  scopes: ReadonlyArray<string>,
  now: number,
  ttlMs: number
): { readonly code: SetupCode; readonly state: PairingState } => {
  const code: SetupCode = { hash: setupCodeHash(token), role, scopes: [...new Set(scopes)].sort(), createdAtMs: now, expiresAtMs: now + ttlMs }
  return { code, state: { ...state, setupCodes: withRow(state.setupCodes, code.hash, code) } }
}

/**
 * Redeems a setup code for a device: single use, before expiry, and only for a
 * role and scopes within its profile. The code is spent by the first device that presents it.
 */
export const redeemSetupCode = (
  state: PairingState,
  token: string,
  deviceId: string,
  role: string,
  scopes: ReadonlyArray<string>,
  now: number
): Outcome<SetupCode> => {
  const code = own(state.setupCodes, setupCodeHash(token))
  const invalid = "setup code invalid: it is unknown, already used or expired; create a new one with `gatehouse setup-code`"
  if (code === undefined || code.redeemedAtMs !== undefined || now >= code.expiresAtMs) return refuse("setup-code-invalid", invalid)
  if (code.role !== role || !scopes.every((s) => code.scopes.includes(s))) {
    return refuse("setup-code-invalid", `setup code is for role ${code.role} with scopes [${code.scopes.join(", ")}]; ask for no more than that`)
  }
  const spent: SetupCode = { ...code, redeemedAtMs: now, deviceId }
  return { ok: true, value: spent, state: { ...state, setupCodes: withRow(state.setupCodes, code.hash, spent) } }
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** The stored key of a setup code: SHA-256 of the bootstrap token (the token itself is never stored). */
export const setupCodeHash = (token: string) => createHash("sha256").update(token).digest("hex")

const changedMetadata = (
  device: PairedDevice,
  ask: { readonly platform?: string | undefined; readonly deviceFamily?: string | undefined }
) =>
  (device.platform !== undefined && normalizeMetadata(device.platform) !== normalizeMetadata(ask.platform)) ||
  (device.deviceFamily !== undefined && normalizeMetadata(device.deviceFamily) !== normalizeMetadata(ask.deviceFamily))

const sameSet = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i])

const pick = <T extends object, K extends keyof T>(source: T, keys: ReadonlyArray<K>): Partial<Pick<T, K>> => {
  const out: Partial<Pick<T, K>> = {}
  for (const k of keys) if (source[k] !== undefined) out[k] = source[k]
  return out
}
