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
import * as Redacted from "effect/Redacted"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { telegramChannel, telegramSend } from "../channels/telegram.ts"
import type { TelegramSettings } from "../config/resolve.ts"
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
  return (yield* makeReplaceable(channels)).runner
})

/**
 * Supervises `initial` like `make`, and also returns `replace`: swaps one channel's
 * definition (a config change) by stopping its fiber and starting the new one, or
 * removes it (undefined). The channel's own state on disk (the update offset) is
 * what carries over, so a replaced channel answers no update twice.
 */
export const makeReplaceable = Effect.fnUntraced(function*(initial: ReadonlyArray<ChannelDefinition>) {
  const fibers = yield* FiberMap.make<string>()
  const channels: Array<ChannelDefinition> = [...initial]
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

  // One replacement at a time: the old fiber has ended (its offset written) before the new one starts.
  const lock = yield* Semaphore.make(1)
  const replace = (id: string, def: ChannelDefinition | undefined) =>
    lock.withPermits(1)(Effect.gen(function*() {
      yield* FiberMap.remove(fibers, id)
      const at = channels.findIndex((c) => c.id === id)
      if (def === undefined) {
        if (at >= 0) channels.splice(at, 1)
        states.delete(id)
        yield* setChannelUp(id, false)
        return
      }
      if (at >= 0) channels[at] = def
      else channels.push(def)
      states.set(id, { running: false, lastError: undefined })
      if (def.enabled) yield* start(def)
      else yield* setChannelUp(id, false)
    }))

  const runner = ChannelRunner.of({
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
  return { runner, replace }
})

/**
 * The runner over the channels the config names, answering with `Agent` and keeping
 * transcripts in `ChatHistory`. Exists even with no channel configured, so a config
 * reload can start one: a change of a channel's `enabled`, `botToken` or `apiRoot`
 * restarts (or stops, or starts) that channel with the new settings.
 */
export const layer: Layer.Layer<ChannelRunner, never, GatewayConfig | Agent | ChatHistory> = Layer.effect(
  ChannelRunner,
  Effect.gen(function*() {
    const { config, live } = yield* GatewayConfig
    const agent = yield* Agent
    const history = yield* ChatHistory
    const telegramOf = (settings: TelegramSettings): ChannelDefinition => {
      // Who may talk to the bot is read per message, so a config reload applies it without a restart.
      const current = () => SubscriptionRef.getUnsafe(live).config.channels.telegram ?? settings
      const telegram: TelegramSettings = {
        ...settings,
        get allowFrom() {
          return current().allowFrom
        },
        get dmPolicy() {
          return current().dmPolicy
        }
      }
      return {
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
      }
    }
    const started = config.channels.telegram
    const { replace, runner } = yield* makeReplaceable(started === undefined ? [] : [telegramOf(started)])

    // What a change restarts the channel for (compared, never logged: it holds the token).
    let fixed = telegramFixed(started)
    let enabled = started?.enabled === true
    yield* SubscriptionRef.changes(live).pipe(
      Stream.runForEach(({ config: next }) =>
        Effect.gen(function*() {
          const now = telegramFixed(next.channels.telegram)
          if (now === fixed) return
          fixed = now
          const settings = next.channels.telegram
          yield* replace("telegram", settings === undefined ? undefined : telegramOf(settings))
          const before = enabled
          const after = enabled = settings?.enabled === true
          const what = before && after ? "restarted" : after ? "started" : before ? "stopped" : "updated"
          yield* Effect.logInfo(`channel telegram ${what}: config changed`)
        })
      ),
      Effect.forkScoped
    )
    return runner
  })
)

// The settings a Telegram run is built with, as one comparable string ("none" when unconfigured).
const telegramFixed = (t: TelegramSettings | undefined): string =>
  t === undefined
    ? "none"
    : JSON.stringify({ enabled: t.enabled, apiRoot: t.apiRoot, botToken: t.botToken === undefined ? undefined : Redacted.value(t.botToken), tokenSource: t.tokenSource })

const describe = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : String(e)
}
