/**
 * Config hot reload: watches the config file and the generated token file
 * (`FileSystem.watch` on their directories, debounced, plus a periodic re-read in
 * case the watch misses an edit: network file systems, editors that swap inodes),
 * and reports every change of the config in force: keys applied live, keys that
 * wait for a restart, an invalid file (the last good config stays), and a rotated
 * shared secret, which ends every session and silently approved device token of
 * the old secret.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { basename, dirname } from "node:path"
import { generatedTokenPath } from "../config/resolve.ts"
import { planReload, RESTART_COMMAND } from "../config/reloadPlan.ts"
import { CloseCode } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { DevicePairing } from "../services/DevicePairing.ts"
import { GatewayConfig, type LiveConfig } from "../services/GatewayConfig.ts"

/** How often the files are re-read when no watch event came. */
export const POLL_INTERVAL = Duration.seconds(2)
/** How long a burst of watch events is let settle before reading (editors write in several steps). */
export const DEBOUNCE = Duration.millis(250)

/** Re-reads the config on every change (and every POLL_INTERVAL); runs until interrupted. */
export const watchConfigFiles = Effect.gen(function*() {
  const { config, reload } = yield* GatewayConfig
  const fs = yield* FileSystem.FileSystem
  const wake = yield* Queue.sliding<void>(1)
  const files = [config.paths.configPath, generatedTokenPath(config.paths)]
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    const names = new Set(files.filter((f) => dirname(f) === dir).map((f) => basename(f)))
    // A missing directory or a watch the system refuses leaves the periodic re-read in charge.
    yield* fs.watch(dir).pipe(
      Stream.filter((e) => names.has(basename(e.path))),
      Stream.runForEach(() => Queue.offer(wake, undefined)),
      Effect.ignore,
      Effect.forkScoped
    )
  }
  return yield* Effect.forever(Effect.gen(function*() {
    yield* Effect.race(Queue.take(wake), Effect.sleep(POLL_INTERVAL))
    yield* Effect.sleep(DEBOUNCE)
    yield* Queue.clear(wake)
    yield* reload
  }))
})

/** Logs every change of the config in force and ends what a rotated secret no longer allows; runs until interrupted. */
export const reportConfigChanges = Effect.gen(function*() {
  const { config, live } = yield* GatewayConfig
  const hub = yield* ConnectionHub
  const pairing = yield* DevicePairing
  let previous: LiveConfig | undefined
  yield* SubscriptionRef.changes(live).pipe(Stream.runForEach((next) =>
    Effect.gen(function*() {
      const before = previous
      previous = next
      if (before === undefined) return
      if (next.invalid !== undefined && next.invalid !== before.invalid) {
        yield* Effect.logWarning(`config reload failed, the last good config stays in force: ${next.invalid}`)
      }
      if (next.invalid === undefined && before.invalid !== undefined) yield* Effect.logInfo(`config ${config.paths.configPath} is valid again`)
      const applied = planReload(before.config, next.config).live
      if (applied.length > 0) yield* Effect.logInfo(`config reloaded: changed ${applied.join(", ")}`)
      const waiting = next.restartNeeded.filter((k) => !before.restartNeeded.includes(k))
      if (waiting.length > 0) {
        yield* Effect.logWarning(`config changed ${waiting.join(", ")}: restart needed to apply (run \`${RESTART_COMMAND}\`)`)
      }
      if (next.secretGeneration > before.secretGeneration) yield* endOldSecretSessions(hub, pairing, next.secretGeneration)
      if (next.identityGeneration > before.identityGeneration) yield* endOldVouchedSessions(hub, next.identityGeneration)
    })
  ))
})

// Sessions a trusted proxy or Tailscale vouched for under the old rules end: the user may no longer be allowed.
const endOldVouchedSessions = (hub: typeof ConnectionHub.Service, generation: number) =>
  Effect.gen(function*() {
    const stale = (yield* hub.connections).filter((c) => c.principal.identityGeneration !== undefined && c.principal.identityGeneration < generation)
    yield* Effect.forEach(stale, (c) => c.close(CloseCode.credentialsRevoked, "who may be vouched for changed: reconnect"), { discard: true })
    if (stale.length > 0) yield* Effect.logWarning(`trusted-proxy / Tailscale rules changed: closed ${stale.length} session(s) admitted under the old rules`)
  })

// Sessions that authenticated with an older shared secret end; device tokens the gateway minted
// silently (through that secret on loopback) are revoked: an operator-approved device keeps its token.
const endOldSecretSessions = (
  hub: typeof ConnectionHub.Service,
  pairing: typeof DevicePairing.Service,
  generation: number
) =>
  Effect.gen(function*() {
    const stale = (yield* hub.connections).filter((c) => c.principal.secretGeneration !== undefined && c.principal.secretGeneration < generation)
    yield* Effect.forEach(stale, (c) => c.close(CloseCode.credentialsRevoked, "gateway secret rotated: reconnect with the new token"), { discard: true })
    const revoked = yield* Effect.orElseSucceed(pairing.revokeSilent, () => [] as ReadonlyArray<string>)
    yield* Effect.logWarning(
      `gateway secret rotated: closed ${stale.length} session(s) of the old secret; revoked the silently approved token(s) of ${revoked.length} device(s)`
    )
  })
