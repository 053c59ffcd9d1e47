/**
 * `gatehouse pairing list [channel]` and `gatehouse pairing approve <channel>
 * <code>`: the DM pairing codes channels hand to unknown senders under
 * `dmPolicy: "pairing"`. Like `openclaw pairing`, they work on the state dir of
 * this host, so they need no connection; the running channel sees an approval at
 * the sender's next message.
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { approve as approveCode, prune } from "../channels/dmPairing.ts"
import { modifyPairing, pairingPath, readPairing } from "../channels/dmPairingFile.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

/** Channels that pair senders. */
const CHANNELS = ["telegram"] as const

export class PairingCliError extends Schema.TaggedError<PairingCliError>()("PairingCliError", {
  code: Schema.String,
  message: Schema.String
}) {}

const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false))
const channelArg = Argument.String("channel").pipe(Argument.withDescription(`The channel (${CHANNELS.join(", ")})`))

const stateDir = Effect.gen(function*() {
  const shared = yield* root
  const { config } = yield* GatewayConfig.make({ profile: Option.getOrUndefined(shared.profile), dev: shared.dev }, process.env)
  return config.paths.stateDir
})

const checkChannel = (channel: string) =>
  (CHANNELS as ReadonlyArray<string>).includes(channel)
    ? Effect.succeed(channel)
    : Effect.fail(new PairingCliError({ code: "CHANNEL_UNKNOWN", message: `"${channel.slice(0, 64)}" does not pair senders\nFix: use one of: ${CHANNELS.join(", ")}` }))

const asError = (e: Error) => new PairingCliError({ code: "PAIRING_STATE", message: e.message })

const list = Command.make("list", { json, channel: Argument.optional(channelArg) }, (f) =>
  reportFailures(Effect.gen(function*() {
    const dir = yield* stateDir
    const now = yield* Clock.currentTimeMillis
    const channels = Option.isSome(f.channel) ? [yield* checkChannel(f.channel.value)] : [...CHANNELS]
    const rows: Array<{ channel: string; code: string; userId: string; chatId: string; createdAt: number }> = []
    for (const channel of channels) {
      const state = prune(yield* Effect.mapError(readPairing(pairingPath(dir, channel)), asError), now)
      for (const p of state.pending) rows.push({ channel, ...p })
    }
    if (f.json) return yield* printJson({ ok: true, pending: rows })
    if (rows.length === 0) return yield* Console.log("No pending pairing codes.")
    yield* Console.log(rows.map((r) => `  ${r.channel}  ${r.code}  user ${r.userId}  ${Math.round((now - r.createdAt) / 60000)} min ago`).join("\n"))
    yield* Console.log(`Approve with: gatehouse pairing approve <channel> <code>`)
  }), f.json)).pipe(Command.withDescription("List pending DM pairing codes"))

const approve = Command.make("approve", { json, channel: channelArg, code: Argument.String("code").pipe(Argument.withDescription("The code the sender got")) }, (f) =>
  reportFailures(Effect.gen(function*() {
    const channel = yield* checkChannel(f.channel)
    const dir = yield* stateDir
    const now = yield* Clock.currentTimeMillis
    const hit = yield* Effect.mapError(modifyPairing(pairingPath(dir, channel), (s) => approveCode(s, f.code, now)), asError)
    if (hit === undefined) {
      return yield* new PairingCliError({
        code: "CODE_UNKNOWN",
        message: `no pending ${channel} pairing code "${f.code.slice(0, 16)}" (codes expire after an hour)\nFix: run \`gatehouse pairing list ${channel}\`, or ask the sender to message the bot again for a new code`
      })
    }
    if (f.json) return yield* printJson({ ok: true, channel, userId: hit.userId, chatId: hit.chatId })
    yield* Console.log(`Approved ${channel} user ${hit.userId}; their next message is answered.`)
  }), f.json)).pipe(Command.withDescription("Approve a DM pairing code: its sender may talk to the bot"))

export const pairing = Command.make("pairing").pipe(
  Command.withDescription("DM pairing of channel senders (dmPolicy \"pairing\")"),
  Command.withSubcommands([list, approve])
)
