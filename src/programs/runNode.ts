/**
 * The node host: keeps a `role: "node"` connection to a gateway (over the
 * `Transport` in context), serves the invokes it receives, and reconnects with
 * backoff (1 s doubling to 30 s, reset after each successful handshake) until
 * interrupted.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Queue from "effect/Queue"
import { NODE_COMMANDS, runCommand } from "../node/nodeCommands.ts"
import { NodeInvokeResult } from "../protocol/rpcs/nodes.ts"
import type { Transport } from "../services/Transport.ts"
import { GATEHOUSE_VERSION } from "../version.ts"
import { GatewayCallError, openSession, type Target } from "./gatewayClient.ts"

/** Delay before reconnect attempt `attempt` (0-based). */
export const backoffMs = (attempt: number) => Math.min(1000 * 2 ** Math.min(attempt, 16), 30_000)

/**
 * Runs `session` until it fails with an error `fatal` accepts: after each end (or
 * other failure) waits `backoffMs(attempt)`; `session` calls its argument once
 * connected, which resets the attempts.
 */
export const superviseReconnect = <E, R>(
  session: (connected: Effect.Effect<void>) => Effect.Effect<void, E, R>,
  onEnd: (reason: Cause.Cause<E> | undefined, delayMs: number) => Effect.Effect<void>,
  fatal: (error: E) => boolean = () => false
): Effect.Effect<never, E, R> =>
  Effect.gen(function*() {
    let attempt = 0
    while (true) {
      const exit = yield* Effect.exit(session(Effect.sync(() => void (attempt = 0))))
      if (exit._tag === "Failure") {
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "Some" && fatal(error.value)) return yield* Effect.fail(error.value)
      }
      const delay = backoffMs(attempt++)
      yield* onEnd(exit._tag === "Failure" ? exit.cause : undefined, delay)
      yield* Effect.sleep(delay)
    }
  })

/**
 * Refusals waiting cannot fix: the gateway does not accept this node's
 * credentials at all (a pending approval or a rate limit, by contrast, passes).
 */
const HOPELESS = new Set([
  "AUTH_TOKEN_MISSING",
  "AUTH_TOKEN_MISMATCH",
  "AUTH_PASSWORD_MISSING",
  "AUTH_PASSWORD_MISMATCH",
  "AUTH_BOOTSTRAP_TOKEN_INVALID",
  "AUTH_UNAUTHORIZED",
  "DEVICE_IDENTITY_REQUIRED"
])

/** A node whose credentials the gateway refuses for good. */
export class NodeCredentialsRefused extends Schema.TaggedError<NodeCredentialsRefused>()("NodeCredentialsRefused", {
  code: Schema.String,
  message: Schema.String
}) {}

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

/**
 * Runs the node host until interrupted, or until the gateway refuses its
 * credentials for good (then says how to pair again); `target` is re-read before
 * every attempt (tokens change).
 */
export const runNode = <E extends { readonly message: string }>(
  target: Effect.Effect<Target, E>,
  options: NodeOptions
): Effect.Effect<never, NodeCredentialsRefused | E | GatewayCallError, Transport> =>
  superviseReconnect<GatewayCallError | E, Transport>(
    (connected) => Effect.flatMap(target, (t) => nodeSession(t, options, connected)),
    (cause, delayMs) => {
      const why = cause === undefined ? "connection closed" : Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : String(Cause.squash(cause))
      return Effect.logWarning(`${why}; reconnecting in ${Math.round(delayMs / 100) / 10}s`)
    },
    (e) => e instanceof GatewayCallError && e.kind === "rejected" && HOPELESS.has(refusalCode(e))
  ).pipe(
    Effect.catchIf(
      (e): e is GatewayCallError => e instanceof GatewayCallError && e.kind === "rejected" && HOPELESS.has(refusalCode(e)),
      (e) =>
        Effect.fail(new NodeCredentialsRefused({
          code: refusalCode(e),
          message: `the gateway refuses this node's credentials (${refusalCode(e)}: ${e.message}); it stopped retrying. ` +
            "Pair it again: on the gateway host run `gatehouse setup-code --role node`, then here `gatehouse node run --pair <code>`"
        }))
    )
  )

// The refusal's code as OpenClaw clients read it: `details.code`, else the top-level code.
const refusalCode = (e: GatewayCallError): string => {
  const details = e.details as { code?: unknown } | undefined
  return typeof details?.code === "string" ? details.code : e.code ?? ""
}
