/**
 * The node host: keeps a `role: "node"` connection to a gateway (over the
 * `Transport` in context), serves the invokes it receives, and reconnects with
 * backoff (1 s doubling to 30 s, reset after each successful handshake) until
 * interrupted.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { NODE_COMMANDS, runCommand } from "../node/nodeCommands.ts"
import { NodeInvokeResult } from "../protocol/rpcs/nodes.ts"
import type { Transport } from "../services/Transport.ts"
import { GATEHOUSE_VERSION } from "../version.ts"
import { type GatewayCallError, openSession, type Target } from "./gatewayClient.ts"

/** Delay before reconnect attempt `attempt` (0-based). */
export const backoffMs = (attempt: number) => Math.min(1000 * 2 ** Math.min(attempt, 16), 30_000)

/**
 * Runs `session` forever: after it ends (or fails) waits `backoffMs(attempt)`;
 * `session` calls its argument once connected, which resets the attempts.
 */
export const superviseReconnect = <E, R>(
  session: (connected: Effect.Effect<void>) => Effect.Effect<void, E, R>,
  onEnd: (reason: Cause.Cause<E> | undefined, delayMs: number) => Effect.Effect<void>
): Effect.Effect<never, never, R> =>
  Effect.gen(function*() {
    let attempt = 0
    while (true) {
      const exit = yield* Effect.exit(session(Effect.sync(() => void (attempt = 0))))
      const delay = backoffMs(attempt++)
      yield* onEnd(exit._tag === "Failure" ? exit.cause : undefined, delay)
      yield* Effect.sleep(delay)
    }
  })

export interface NodeOptions {
  readonly displayName?: string | undefined
  /** Absolute paths `system.run` may execute. */
  readonly allowed: ReadonlySet<string>
}

/** One connection's life: connect as a node, answer invokes until the socket closes. */
export const nodeSession = (target: Target, options: NodeOptions, connected: Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* openSession(target, {
      role: "node",
      scopes: [],
      client: { id: "node-host", mode: "node", version: GATEHOUSE_VERSION, ...(options.displayName === undefined ? {} : { displayName: options.displayName }) },
      caps: ["system"],
      commands: NODE_COMMANDS
    })
    yield* connected
    const nodeId = target.device?.identity.deviceId ?? "node"
    yield* Effect.logInfo(`node connected to ${target.url} as ${nodeId}`)
    while (true) {
      const frame = yield* Queue.take(session.events)
      if (frame.event !== "node.invoke.request") continue
      const request = frame.payload as { id: string; nodeId: string; command: string; paramsJSON: string | null }
      yield* Effect.forkScoped(
        Effect.gen(function*() {
          // Whatever goes wrong running the command, the operator gets an answer, not a timeout.
          const answer = yield* runCommand(request.command, request.paramsJSON ?? null, options.allowed).pipe(
            Effect.catchCause((cause) =>
              Effect.succeed({ ok: false, error: { code: "NODE_ERROR", message: `${request.command} failed on the node: ${Cause.pretty(cause).split("\n")[0]}` } } as const)
            )
          )
          yield* session.call(NodeInvokeResult, answer.ok
            ? { id: request.id, nodeId: request.nodeId, ok: true, payloadJSON: JSON.stringify(answer.payload) }
            : { id: request.id, nodeId: request.nodeId, ok: false, error: answer.error })
        }).pipe(Effect.catchCause((cause) => Effect.logWarning("could not answer an invoke", cause)))
      )
    }
  }).pipe(Effect.catchIf(Cause.isDone, () => Effect.void)))

/** Runs the node host until interrupted; `target` is re-read before every attempt (tokens change). */
export const runNode = <E extends { readonly message: string }>(target: Effect.Effect<Target, E>, options: NodeOptions): Effect.Effect<never, never, Transport> =>
  superviseReconnect<GatewayCallError | E, Transport>(
    (connected) => Effect.flatMap(target, (t) => nodeSession(t, options, connected)),
    (cause, delayMs) => {
      const why = cause === undefined ? "connection closed" : Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : String(Cause.squash(cause))
      return Effect.logWarning(`${why}; reconnecting in ${Math.round(delayMs / 100) / 10}s`)
    }
  )
