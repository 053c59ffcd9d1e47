/**
 * An in-memory Listener: connections are handed in by the program (tests, an
 * embedder bridging its own transport) as `Conn`s and served exactly like
 * sockets from the network. `MemoryListener.accept` hands one in.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type { Conn } from "../connections/conn.ts"
import { Listener } from "../services/Listener.ts"

export interface MemoryListenerShape {
  /** Serves `conn` as a new connection; the fiber ends when the connection does. */
  readonly accept: (conn: Conn) => Effect.Effect<Fiber.Fiber<void>>
}

export class MemoryListener extends Context.Service<MemoryListener, MemoryListenerShape>()("gatehouse/layers/ListenerMemory/MemoryListener") {}

/** A Listener and the MemoryListener that feeds it. */
export const layer: Layer.Layer<Listener | MemoryListener> = Layer.effectContext(
  Effect.gen(function*() {
    const fibers = yield* FiberSet.make<void>()
    const handler = yield* Deferred.make<(conn: Conn) => Effect.Effect<void>>()
    const listener = Listener.of({
      address: { host: "memory", port: 0, url: "memory://gateway" },
      run: (handle) => Effect.andThen(Deferred.succeed(handler, handle), Effect.never).pipe(Effect.ensuring(FiberSet.clear(fibers)))
    })
    const memory = MemoryListener.of({
      accept: (conn) =>
        Effect.flatMap(Deferred.await(handler), (handle) =>
          FiberSet.run(fibers, Effect.ensuring(handle(conn), conn.close(1000, "connection ended"))))
    })
    return Context.make(Listener, listener).pipe(Context.add(MemoryListener, memory))
  })
)
