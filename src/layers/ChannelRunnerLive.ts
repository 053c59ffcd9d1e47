/**
 * The channel runner: each enabled channel runs in its own fiber, restarted after
 * a failure with exponential backoff (1 s doubling to 5 min, back to 1 s once a
 * run has lasted 5 min). Failures are logged and kept as `lastError`; none ends
 * the gateway. `layer` builds the channels the config names (Telegram) with the
 * given Agent.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import { telegramChannel, telegramSend } from "../channels/telegram.ts"
import { setChannelUp } from "../observability/metrics.ts"
import { Agent } from "../services/Agent.ts"
import {
  type ChannelDefinition,
  ChannelRunner,
  ChannelRunnerError,
  ChannelSendFailed,
  type ChannelStatus,
  ChannelUnknown,
  type SendResult
} from "../services/ChannelRunner.ts"
import { ChatHistory } from "../services/ChatHistory.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"

export const BACKOFF_INITIAL_MS = 1_000
export const BACKOFF_MAX_MS = 300_000
/** How many `send` results are kept for idempotency keys. */
export const SENT_KEYS_KEPT = 1_000

/** A run that lasted this long counts as healthy: the next failure starts the backoff over. */
export const HEALTHY_RUN_MS = 300_000

/** The delay before restart number `failures` (0-based). */
export const backoffMs = (failures: number) => Math.min(BACKOFF_INITIAL_MS * 2 ** Math.min(failures, 20), BACKOFF_MAX_MS)

interface State {
  running: boolean
  lastError: string | undefined
}

/** Supervises `channels` for the lifetime of the enclosing scope. */
export const make = Effect.fnUntraced(function*(channels: ReadonlyArray<ChannelDefinition>) {
  const fibers = yield* FiberMap.make<string>()
  const states = new Map<string, State>(channels.map((c) => [c.id, { running: false, lastError: undefined }]))

  const supervise = (def: ChannelDefinition, state: State) =>
    Effect.gen(function*() {
      let failures = 0
      while (true) {
        const startedAt = yield* Clock.currentTimeMillis
        state.running = true
        yield* setChannelUp(def.id, true)
        const exit = yield* Effect.exit(def.run)
        state.running = false
        yield* setChannelUp(def.id, false)
        const message = Exit.isSuccess(exit) ? "the channel stopped" : describe(exit.cause)
        state.lastError = message
        if ((yield* Clock.currentTimeMillis) - startedAt >= HEALTHY_RUN_MS) failures = 0
        const delay = backoffMs(failures++)
        yield* Effect.logWarning(`channel ${def.id}: ${message}; restarting in ${Math.round(delay / 1000)} s`)
        yield* Effect.sleep(delay)
      }
    }).pipe(Effect.onInterrupt(() => Effect.andThen(Effect.sync(() => { state.running = false }), setChannelUp(def.id, false))))

  const start = (def: ChannelDefinition) => FiberMap.run(fibers, def.id, supervise(def, states.get(def.id)!))

  for (const def of channels) yield* setChannelUp(def.id, false)
  for (const def of channels) if (def.enabled) yield* start(def)

  // Results of recent sends by idempotency key (insertion order: the oldest is dropped first).
  const sentByKey = new Map<string, SendResult>()
  const fail = (reason: ChannelUnknown | ChannelSendFailed) => Effect.fail(new ChannelRunnerError({ reason }))

  return ChannelRunner.of({
    status: Effect.sync(() =>
      channels.map((c): ChannelStatus => {
        const s = states.get(c.id)!
        return { id: c.id, label: c.label, enabled: c.enabled, running: s.running, lastError: s.lastError, details: c.details }
      })
    ),
    restart: (id) => {
      const def = channels.find((c) => c.id === id)
      if (def === undefined) return Effect.fail(new ChannelRunnerError({ reason: new ChannelUnknown({ channel: id }) }))
      return def.enabled ? Effect.asVoid(start(def)) : Effect.void
    },
    send: ({ channel, idempotencyKey, text, to }) =>
      Effect.gen(function*() {
        const def = channel === undefined
          ? (channels.length === 1 ? channels[0] : undefined)
          : channels.find((c) => c.id === channel)
        if (def === undefined) return yield* fail(new ChannelUnknown({ channel: channel ?? "" }))
        const key = `${def.id}\u0000${idempotencyKey}`
        const earlier = sentByKey.get(key)
        if (earlier !== undefined) return earlier
        if (!def.enabled) return yield* fail(new ChannelSendFailed({ channel: def.id, message: `channels.${def.id}.enabled is false` }))
        if (def.send === undefined) return yield* fail(new ChannelSendFailed({ channel: def.id, message: "this channel cannot send" }))
        const sent = yield* def.send(to, text).pipe(Effect.mapError((message) => new ChannelRunnerError({ reason: new ChannelSendFailed({ channel: def.id, message }) })))
        const result: SendResult = { channel: def.id, ...sent }
        sentByKey.set(key, result)
        if (sentByKey.size > SENT_KEYS_KEPT) sentByKey.delete(sentByKey.keys().next().value!)
        return result
      })
  })
})

/** The runner over the channels the config names, answering with `Agent` and keeping transcripts in `ChatHistory`. */
export const layer: Layer.Layer<ChannelRunner, never, GatewayConfig | Agent | ChatHistory> = Layer.effect(
  ChannelRunner,
  Effect.gen(function*() {
    const { config, live } = yield* GatewayConfig
    const agent = yield* Agent
    const history = yield* ChatHistory
    const channels: Array<ChannelDefinition> = []
    const started = config.channels.telegram
    if (started !== undefined) {
      // Who may talk to the bot is read per message, so a config reload applies it; the token and API root are fixed at start.
      const current = () => SubscriptionRef.getUnsafe(live).config.channels.telegram ?? started
      const telegram: typeof started = {
        ...started,
        get allowFrom() {
          return current().allowFrom
        },
        get dmPolicy() {
          return current().dmPolicy
        }
      }
      channels.push({
        id: "telegram",
        label: "Telegram",
        enabled: telegram.enabled,
        details: {
          configured: telegram.botToken !== undefined,
          tokenSource: telegram.tokenSource,
          dmPolicy: telegram.dmPolicy,
          allowFrom: telegram.allowFrom,
          mode: "polling"
        },
        run: telegramChannel(telegram, agent, config.paths.stateDir, history),
        send: telegramSend(telegram)
      })
    }
    return yield* make(channels)
  })
)

const describe = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : String(e)
}
