/**
 * Handlers of the channel methods: `channels.status` (each channel and its one
 * account, in the shape `openclaw channels status` prints) and `send`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { ErrorCode, GatewayError } from "../../protocol/errors.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { ChannelRunner, type ChannelStatus } from "../../services/ChannelRunner.ts"

export const handlers = Effect.gen(function*() {
  const channels = yield* ChannelRunner
  return declaredIn(GatewayRpcs)({
    "channels.status": ({ channel }: { readonly channel?: string }) =>
      Effect.gen(function*() {
        const all = (yield* channels.status).filter((c) => channel === undefined || c.id === channel)
        const account = (c: ChannelStatus) => ({
          accountId: "default",
          enabled: c.enabled,
          configured: true,
          running: c.running,
          ...(c.lastError === undefined ? {} : { lastError: c.lastError }),
          ...toJson(c.details ?? {})
        })
        return {
          ts: yield* Clock.currentTimeMillis,
          channelOrder: all.map((c) => c.id),
          channelLabels: Object.fromEntries(all.map((c) => [c.id, c.label])),
          channels: Object.fromEntries(all.map((c) => {
            const a = account(c)
            return [c.id, { configured: a.configured, running: c.running, ...(c.lastError === undefined ? {} : { lastError: c.lastError }) }]
          })),
          channelAccounts: Object.fromEntries(all.map((c) => [c.id, [account(c)]])),
          channelDefaultAccountId: Object.fromEntries(all.map((c) => [c.id, "default"]))
        }
      }),
    "send": (p: { readonly to: string; readonly message?: string; readonly channel?: string; readonly idempotencyKey: string }) =>
      Effect.map(
        channels.send({ channel: p.channel, to: p.to, text: p.message ?? "", idempotencyKey: p.idempotencyKey }),
        (sent) => ({ runId: randomUUID(), ...sent })
      ),
    "message.action": (p: { readonly channel: string; readonly action: string; readonly params: Record<string, unknown>; readonly idempotencyKey: string }) =>
      Effect.gen(function*() {
        if (p.action !== "send") {
          return yield* new GatewayError({ code: ErrorCode.invalidRequest, message: `message action "${p.action}" is not supported by gatehouse (only "send")` })
        }
        const to = stringParam(p.params, "to") ?? stringParam(p.params, "target")
        if (to === undefined) return yield* new GatewayError({ code: ErrorCode.invalidRequest, message: "message send needs a target (--target)" })
        const text = stringParam(p.params, "message") ?? stringParam(p.params, "text") ?? ""
        const sent = yield* channels.send({ channel: p.channel, to, text, idempotencyKey: p.idempotencyKey })
        return { ok: true, to, ...sent }
      })
  })
})

// Channel details are JSON facts by contract; a round trip drops anything that is not.
const toJson = (details: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(details)) as Record<string, unknown>

const stringParam = (params: Record<string, unknown>, key: string): string | undefined => {
  const v = params[key]
  return typeof v === "string" && v.length > 0 ? v : typeof v === "number" ? String(v) : undefined
}
