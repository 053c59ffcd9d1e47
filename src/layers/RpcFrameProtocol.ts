/**
 * The OpenClaw frame format as an `RpcServer.Protocol`: connection programs submit
 * `req` frames through `FrameRouter`, and the RPC server's exits come back as `res`
 * frames with the protocol's error shape. A streaming method (`agent`) answers
 * each value it streams as a `res` with the request's id (OpenClaw's two-phase
 * answers); its end writes nothing more unless it failed. One instance serves
 * every connection.
 */
import * as Context from "effect/Context"
import { randomUUID } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as RpcMessage from "effect/rpc/RpcMessage"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as RpcServer from "effect/rpc/RpcServer"
import { ErrorCode } from "../protocol/errors.ts"
import type { ErrorShape, ResponseFrame } from "../protocol/frames.ts"
import { FrameRouter, MAX_IN_FLIGHT_PER_CLIENT, type ResponseWriter } from "../services/FrameRouter.ts"
import { countRpc, countRpcUnsafe } from "../observability/metrics.ts"
import { escapeControls } from "../observability/safeLogger.ts"

interface Client {
  readonly write: ResponseWriter
  /** request id → its method (to name it in errors) and its frame's size: the client's unanswered requests. */
  readonly pending: Map<string, Pending>
  /** Requests of streaming methods that have already answered at least once. */
  readonly streamed: Set<string>
  /** The bytes the client's unanswered requests hold. */
  bytes: number
  /** Who the connection belongs to (its address key), whose connections share a byte budget. */
  readonly ownerKey: string
  readonly owner: Owner
}

interface Pending {
  readonly method: string
  readonly bytes: number
}

/** One address's connections: how many are attached, and the bytes their unanswered requests hold. */
interface Owner {
  connections: number
  bytes: number
}

const make = Effect.gen(function*() {
  const disconnects = yield* Queue.unbounded<number>()
  const clients = new Map<number, Client>()
  // address key → its connections and their bytes (an entry while it has a connection attached). A request
  // touches only the entry's fields: adding and removing a map entry per request made the map reallocate.
  const owners = new Map<string, Owner>()
  const release = (client: Client, bytes: number) => {
    client.bytes -= bytes
    client.owner.bytes -= bytes
  }
  const detachClient = (clientId: number, client: Client) => {
    // Its unanswered requests are interrupted and never answered here: give their bytes back now.
    release(client, client.bytes)
    clients.delete(clientId)
    if (--client.owner.connections <= 0) owners.delete(client.ownerKey)
  }
  let writeRequest: (clientId: number, data: RpcMessage.FromClientEncoded) => Effect.Effect<void> = () => Effect.void

  const protocol = yield* RpcServer.Protocol.make((write) => {
    writeRequest = write
    return Effect.succeed({
      disconnects,
      send: (clientId: number, response: RpcMessage.FromServerEncoded) => {
        const client = clients.get(clientId)
        if (client === undefined) return Effect.void
        if (response._tag === "Chunk") {
          const id = String(response.requestId)
          if (!client.pending.has(id)) return Effect.void
          client.streamed.add(id)
          return Effect.suspend(() => {
            // Written in order now; what a write leaves to do (a slow consumer's close) runs after, in order too.
            let more: Effect.Effect<void> | undefined
            for (const value of response.values) {
              const next = client.write({ type: "res", id, ok: true, payload: value ?? null })
              if (next !== undefined) more = more === undefined ? next : Effect.andThen(more, next)
            }
            return more ?? Effect.void
          })
        }
        if (response._tag !== "Exit") return Effect.void
        const id = String(response.requestId)
        const pending = client.pending.get(id)
        const method = pending?.method ?? "request"
        if (pending !== undefined) {
          client.pending.delete(id)
          release(client, pending.bytes)
        }
        const streamed = client.streamed.size > 0 && client.streamed.delete(id)
        if (streamed && response.exit._tag === "Success") return countRpc(method, "ok")
        const frame = toResponse(id, method, response.exit)
        const outcome = frame.ok ? "ok" : frame.error?.code ?? "error"
        if (frame.error?.code !== ErrorCode.unavailable || response.exit._tag !== "Failure" || !isDefect(response.exit.cause)) {
          // One step per answer: count and write in the fiber that sends it (no update effect, no write effect).
          return Effect.withFiber((fiber) => {
            countRpcUnsafe(method, outcome, fiber.context)
            return client.write(frame) ?? Effect.void
          })
        }
        const counted = countRpc(method, outcome)
        // A handler that died: the client gets an id to quote, the log gets the cause under the same id.
        const correlationId = randomUUID()
        return Effect.andThen(
          Effect.andThen(counted, Effect.logError(`${method} failed inside the gateway`, JSON.stringify(response.exit.cause)).pipe(
            Effect.annotateLogs({ correlationId, requestId: escapeControls(id) })
          )),
          Effect.suspend(() => client.write({
            ...frame,
            error: {
              code: ErrorCode.unavailable,
              message: `${method} failed inside the gateway (correlation id ${correlationId}); the gateway's log has the details`,
              details: { code: "INTERNAL", correlationId },
              retryable: true
            }
          }) ?? Effect.void)
        )
      },
      end: () => Effect.void,
      clientIds: Effect.sync(() => new Set(clients.keys())),
      initialMessage: Effect.succeedNone,
      supportsAck: false,
      supportsTransferables: false,
      supportsSpanPropagation: false,
      supportsNotifications: false,
      codecFor: RpcSerialization.json.codecFor
    })
  })

  const router = FrameRouter.of({
    attach: (clientId, write, ownerKey = `connection ${clientId}`) =>
      Effect.sync(() => {
        const previous = clients.get(clientId)
        if (previous !== undefined) detachClient(clientId, previous)
        let owner = owners.get(ownerKey)
        if (owner === undefined) owners.set(ownerKey, owner = { connections: 0, bytes: 0 })
        owner.connections++
        clients.set(clientId, { write, pending: new Map(), streamed: new Set(), bytes: 0, ownerKey, owner })
      }),
    detach: (clientId) =>
      Effect.suspend(() => {
        const client = clients.get(clientId)
        if (client === undefined) return Effect.void
        detachClient(clientId, client)
        return Queue.offer(disconnects, clientId)
      }).pipe(Effect.asVoid),
    submit: (clientId, frame, bytes = 0, maxBytes = Number.POSITIVE_INFINITY, maxClientBytes = Number.POSITIVE_INFINITY) =>
      Effect.suspend(() => {
        const client = clients.get(clientId)
        // The RPC server interrupts the caller on a reused in-flight id; refuse it here instead.
        if (client === undefined || client.pending.has(frame.id)) return succeedDuplicate
        if (
          client.pending.size >= MAX_IN_FLIGHT_PER_CLIENT || client.bytes + bytes > maxBytes ||
          client.owner.bytes + bytes > maxClientBytes
        ) return succeedBusy
        client.pending.set(frame.id, { method: frame.method, bytes })
        client.bytes += bytes
        client.owner.bytes += bytes
        return Effect.as(
          writeRequest(clientId, {
            _tag: "Request",
            id: frame.id,
            tag: frame.method,
            payload: frame.params ?? {},
            headers: NO_HEADERS
          }),
          "accepted" as const
        )
      })
  })
  return Context.make(RpcServer.Protocol, protocol).pipe(Context.add(FrameRouter, router))
})

/** Provides `RpcServer.Protocol` and the `FrameRouter` that feeds it. */
export const layer = Layer.effectContext(make)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

type EncodedExit = RpcMessage.ResponseExitEncoded["exit"]

// Requests carry no headers; the server only reads the array (into its own object), so one serves them all.
const NO_HEADERS: ReadonlyArray<[string, string]> = Object.freeze([])

const succeedDuplicate = Effect.succeed("duplicate" as const)
const succeedBusy = Effect.succeed("busy" as const)

const toResponse = (id: string, method: string, exit: EncodedExit): ResponseFrame => {
  if (exit._tag === "Success") return { type: "res", id, ok: true, payload: exit.value ?? null }
  return { type: "res", id, ok: false, error: errorOf(method, exit.cause) }
}

const errorOf = (method: string, cause: ReadonlyArray<unknown>): ErrorShape => {
  for (const reason of cause) {
    const r = reason as { _tag?: string; error?: unknown; defect?: unknown }
    if (r._tag === "Fail" && isGatewayError(r.error)) {
      const { _tag: _, ...shape } = r.error
      return shape
    }
  }
  for (const reason of cause) {
    const r = reason as { _tag?: string; defect?: unknown }
    // The RPC server reports undecodable params as a defect carrying the schema's message.
    if (r._tag === "Die" && typeof r.defect === "string" && !r.defect.startsWith("Failed to encode")) {
      return { code: ErrorCode.invalidRequest, message: `invalid ${method} params: ${r.defect}` }
    }
  }
  const interrupted = cause.some((r) => (r as { _tag?: string })._tag === "Interrupt")
  return interrupted
    ? { code: ErrorCode.unavailable, message: `${method} was interrupted (the gateway is shutting down)`, retryable: true }
    : { code: ErrorCode.unavailable, message: `${method} failed inside the gateway; its log has the details`, retryable: true }
}

// Neither a typed failure nor an interruption: a defect (params that did not decode are answered before this).
const isDefect = (cause: ReadonlyArray<unknown>) =>
  !cause.some((r) => {
    const tag = (r as { _tag?: string })._tag
    return tag === "Fail" || tag === "Interrupt"
  })

const isGatewayError = (u: unknown): u is ErrorShape & { _tag: "GatewayError" } =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "GatewayError" &&
  typeof (u as { code?: unknown }).code === "string" && typeof (u as { message?: unknown }).message === "string"
