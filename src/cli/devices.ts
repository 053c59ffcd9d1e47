/**
 * `gatehouse devices …`: list, approve, reject, remove, rotate and revoke paired
 * devices on the gateway this host reaches (the same target rules as `health`).
 */
import { printable } from "../text/printable.ts"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigError } from "../config/errors.ts"
import {
  DevicePairApprove,
  DevicePairList,
  DevicePairReject,
  DevicePairRemove,
  DevicePairRename,
  DeviceTokenRevoke,
  DeviceTokenRotate
} from "../protocol/rpcs/devices.ts"
import { endedByOwnRevocation } from "../programs/gatewayClient.ts"
import { callMethod, withTransport } from "./clientCommands.ts"
import { printJson, reportFailures } from "./output.ts"
import { targetFlags } from "./targetFlags.ts"

const short = (id: string) => `${id.slice(0, 12)}…`
const age = (now: number, ts: number) => {
  const s = Math.max(0, Math.round((now - ts) / 1000))
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`
}
// Every cell is made printable: names and client ids are whatever the device sent.
const table = (raw: ReadonlyArray<ReadonlyArray<string>>) => {
  const rows = raw.map((r) => r.map((c) => printable(c, 64)))
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => "  " + r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

const list = Command.make("list", targetFlags, (flags) =>
  reportFailures(Effect.gen(function*() {
    const listing = yield* callMethod(flags, DevicePairList, {})
    if (flags.json) return yield* printJson(listing)
    const now = yield* Clock.currentTimeMillis
    const lines: Array<string> = []
    if (listing.pending.length === 0) lines.push("No pending pairing requests.")
    else {
      lines.push(`Pending (${listing.pending.length})`)
      lines.push(table([
        ["REQUEST", "DEVICE", "CLIENT", "ROLE", "SCOPES", "FROM", "AGE", "REASON"],
        ...listing.pending.map((p) => [p.requestId, short(p.deviceId), p.displayName ?? p.clientId, p.role, p.scopes.join(",") || "-", p.remoteIp ?? "-", age(now, p.ts), p.reason])
      ]))
      lines.push(`Approve with: gatehouse devices approve <REQUEST>`)
    }
    lines.push("")
    if (listing.paired.length === 0) lines.push("No paired devices.")
    else {
      lines.push(`Paired (${listing.paired.length})`)
      lines.push(table([
        ["DEVICE", "CLIENT", "ROLES", "SCOPES", "VIA", "APPROVED"],
        ...listing.paired.map((d) => [d.deviceId, d.displayName ?? d.clientId ?? "-", d.roles.join(","), d.approvedScopes.join(",") || "-", d.approvedVia, `${age(now, d.approvedAtMs)} ago`])
      ]))
    }
    yield* Console.log(lines.join("\n"))
  }), flags.json)).pipe(withTransport, Command.withDescription("List pending requests and paired devices"))

const approve = Command.make(
  "approve",
  {
    ...targetFlags,
    requestId: Argument.String("requestId").pipe(Argument.withDescription("Request id from `devices list`"), Argument.optional),
    latest: Flag.Boolean("latest").pipe(Flag.withDescription("Approve the only pending request"), Flag.withDefault(false))
  },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      let requestId = Option.getOrUndefined(flags.requestId)
      if (requestId === undefined) {
        if (!flags.latest) return yield* new ConfigError({ reason: "invalid", message: "give a requestId (see `gatehouse devices list`) or --latest" })
        const listing = yield* callMethod(flags, DevicePairList, {})
        if (listing.pending.length === 0) return yield* new ConfigError({ reason: "invalid", message: "no pending pairing requests" })
        if (listing.pending.length > 1) {
          return yield* new ConfigError({
            reason: "invalid",
            message: `${listing.pending.length} requests are pending; --latest approves only when there is one. Pick one:\n` +
              listing.pending.map((p) => `  gatehouse devices approve ${p.requestId}   # ${printable(p.displayName ?? p.clientId, 64)} ${p.role} from ${p.remoteIp ?? "?"}`).join("\n")
          })
        }
        requestId = listing.pending[0]!.requestId
      }
      const result = yield* callMethod(flags, DevicePairApprove, { requestId })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Approved ${result.device.deviceId} (${requestId}) as ${result.device.roles.join(", ")} with ${result.device.approvedScopes.join(", ") || "no operator scopes"}`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Approve a pending pairing request"))

const reject = Command.make(
  "reject",
  { ...targetFlags, requestId: Argument.String("requestId") },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const result = yield* callMethod(flags, DevicePairReject, { requestId: flags.requestId })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Rejected ${flags.requestId}`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Reject a pending pairing request"))

const remove = Command.make(
  "remove",
  { ...targetFlags, deviceId: Argument.String("deviceId") },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      // Removing the device this command runs as ends its own session (4001) once the removal is done.
      const result = yield* callMethod(flags, DevicePairRemove, { deviceId: flags.deviceId }).pipe(
        Effect.catchIf(endedByOwnRevocation, () => Effect.succeed({ deviceId: flags.deviceId }))
      )
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Removed ${flags.deviceId}; its connections were closed`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Forget a paired device and disconnect it"))

const rename = Command.make(
  "rename",
  { ...targetFlags, deviceId: Argument.String("deviceId"), name: Argument.String("name").pipe(Argument.withDescription("Your name for the device")) },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const result = yield* callMethod(flags, DevicePairRename, { deviceId: flags.deviceId, label: flags.name })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Renamed ${result.deviceId} to "${result.label}"`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Give a paired device your own name for it (shown by devices list)"))

const roleFlag = Flag.Literals("role", ["operator", "node"]).pipe(Flag.withDescription("Which role's token"))

const rotate = Command.make(
  "rotate",
  {
    ...targetFlags,
    deviceId: Argument.String("deviceId"),
    role: roleFlag,
    scopes: Flag.String("scopes").pipe(Flag.withDescription("Comma-separated scopes (default: the current token's)"), Flag.optional)
  },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const scopes = Option.map(flags.scopes, (s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
      const result = yield* callMethod(flags, DeviceTokenRotate, {
        deviceId: flags.deviceId,
        role: flags.role,
        ...(Option.isSome(scopes) ? { scopes: scopes.value } : {})
      })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(
        `Rotated the ${flags.role} token of ${flags.deviceId} (scopes: ${result.scopes.join(", ") || "none"}); its connections were closed.` +
          (result.token === undefined ? " The device receives the new token when it next connects with the gateway secret." : "")
      )
    }), flags.json)
).pipe(withTransport, Command.withDescription("Mint a new device token (closes the device's sockets)"))

const revoke = Command.make(
  "revoke",
  { ...targetFlags, deviceId: Argument.String("deviceId"), role: roleFlag },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const result = yield* callMethod(flags, DeviceTokenRevoke, { deviceId: flags.deviceId, role: flags.role })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Revoked the ${flags.role} token of ${flags.deviceId}; its connections were closed`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Revoke a device token (closes the device's sockets)"))

export const devices = Command.make("devices").pipe(
  Command.withDescription("Pair and manage devices"),
  Command.withSubcommands([list, approve, reject, remove, rename, rotate, revoke])
)
