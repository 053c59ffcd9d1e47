/**
 * The ssh Transport: reaches a gateway that listens only on the loopback of an
 * SSH server. It runs the system `ssh` (so ~/.ssh/config, the agent and
 * known_hosts apply) as
 *
 *   ssh -v -N -L 127.0.0.1:<free local port>:127.0.0.1:<gateway port> [-p port] [-i key]
 *       -o ExitOnForwardFailure=yes -o ServerAliveInterval=15 -o BatchMode=yes <target>
 *
 * in its own process group, killed when the layer's scope closes. Readiness is
 * read from ssh itself, with no blind sleep and no probe connection (a probe would
 * open a channel to the gateway and show up there as a connect and close): with
 * `-v` OpenSSH prints "Local forwarding listening on 127.0.0.1 port N" while it
 * binds, then "Entering interactive session" once its client loop runs, after the
 * listener is up (the first line alone came 2–4 ms early in a third of the tries);
 * it exits (255) when it cannot log in or bind. Sockets are then opened by
 * the direct Transport to the local end. While the layer is in use, a forward that
 * died (sshd restarted, network gone) is started again on the next `open`, waiting
 * `restartDelayMs` after repeated failures.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { createServer } from "node:net"
import {
  SshAuthRefused,
  SshConnectFailed,
  SshExited,
  SshHostKeyRejected,
  SshLocalPortInUse,
  SshMissing,
  SshRemotePortClosed,
  Transport,
  TransportError,
  Unreachable
} from "../services/Transport.ts"
import type { OpenOptions, TransportShape } from "../services/Transport.ts"
import {
  classifySshFailure,
  formatSshTarget,
  LISTENING_LINE,
  restartWaitMs,
  SESSION_LINE,
  sshArgs,
  type SshEndpoint,
  type SshFailure
} from "../transport/ssh.ts"
import * as TransportDirect from "./TransportDirect.ts"

export interface SshTransportOptions extends SshEndpoint {
  /** The ssh program and any leading arguments (default `ssh`; `GATEHOUSE_SSH_COMMAND` in the CLI). */
  readonly command?: ReadonlyArray<string> | undefined
  /** Bind the local end to this port instead of a free one. */
  readonly localPort?: number | undefined
  /** How long ssh may take to log in and bind (default 20 s). */
  readonly readyTimeoutMs?: number | undefined
}

/** A running `ssh -N -L`. */
export interface Forward {
  readonly localPort: number
  readonly remotePort: number
  readonly pid: number
  /** Completes when ssh has exited, with what its output says went wrong. */
  readonly exited: Deferred.Deferred<SshExit>
  /** Completes the next time ssh reports a refused channel (the gateway port is closed). */
  readonly nextOpenFailure: Effect.Effect<Deferred.Deferred<string>>
  /** ssh's last lines on stderr. */
  readonly tail: () => ReadonlyArray<string>
}

export interface SshExit extends SshFailure {
  readonly exitCode: number | undefined
}

/**
 * Starts one forward in the current scope and waits until it is ready: ssh
 * printed its listening line and then started its session (ready), exited (a classified TransportError), or
 * neither within the ready timeout.
 */
export const startForward = (options: SshTransportOptions, remotePort: number) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const target = formatSshTarget(options)
    const localPort = options.localPort ?? (yield* freeLocalPort)
    const [program, ...lead] = options.command ?? ["ssh"]
    const handle = yield* spawner.spawn(
      ChildProcess.make(program!, [...lead, ...sshArgs(options, localPort, remotePort)], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        killSignal: "SIGTERM",
        forceKillAfter: "2 seconds"
      })
    ).pipe(
      Effect.mapError((e) =>
        new TransportError({
          reason: new SshMissing({ command: program!, detail: e.message.startsWith("NotFound") ? "no such program" : e.message })
        })
      )
    )
    const tail: Array<string> = []
    let bound = false
    const ready = yield* Deferred.make<void>()
    const exited = yield* Deferred.make<SshExit>()
    let openFailure = yield* Deferred.make<string>()
    const output = yield* handle.stderr.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) =>
        Effect.gen(function*() {
          tail.push(line)
          if (tail.length > 200) tail.shift()
          const listening = LISTENING_LINE.exec(line)
          if (listening !== null && Number(listening[1]) === localPort) bound = true
          if (bound && SESSION_LINE.test(line)) yield* Deferred.succeed(ready, undefined)
          if (/open failed/.test(line)) {
            yield* Deferred.succeed(openFailure, line.replace(/^channel \d+: /, ""))
            openFailure = yield* Deferred.make<string>()
          }
        })
      ),
      Effect.ignore,
      Effect.forkScoped
    )
    yield* handle.exitCode.pipe(
      Effect.map(Number),
      Effect.orElseSucceed(() => undefined),
      // The last lines ssh wrote explain its exit: read them all first.
      Effect.tap(() => Fiber.await(output)),
      Effect.flatMap((exitCode) => Deferred.succeed(exited, { ...classifySshFailure(tail), exitCode })),
      // Ended while in use (not by our scope, which interrupts this fiber before it kills ssh): say so now,
      // not only on the next open.
      Effect.andThen(Effect.gen(function*() {
        if (!(yield* Deferred.isDone(ready))) return
        const end = yield* Deferred.await(exited)
        const e = toTransportError(options, localPort, remotePort, end)
        yield* Effect.logWarning(e.reason._tag === "SshExited" ? e.message : `the SSH forward to ${target} ended: ${e.message}`)
      })),
      Effect.forkScoped
    )
    const timeoutMs = options.readyTimeoutMs ?? 20_000
    yield* Effect.raceFirst(
      Deferred.await(ready),
      Effect.flatMap(Deferred.await(exited), (x) => Effect.fail(toTransportError(options, localPort, remotePort, x)))
    ).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () =>
          Effect.fail(
            new TransportError({
              reason: new SshExited({ target, detail: `no forward after ${timeoutMs} ms (${classifySshFailure(tail).detail})` })
            })
          )
      })
    )
    return {
      localPort,
      remotePort,
      pid: Number(handle.pid),
      exited,
      nextOpenFailure: Effect.sync(() => openFailure),
      tail: () => [...tail]
    } satisfies Forward
  })

/**
 * Keeps at most one forward per remote port alive for the scope's lifetime:
 * reuses it while ssh runs, starts a new one when it died, and after `n` failed
 * starts in a row waits `restartDelayMs(n)` (from the last failure, by the Clock)
 * before trying again.
 */
export const makeForwardKeeper = <E, R>(start: (remotePort: number) => Effect.Effect<Forward, E, R | Scope.Scope>) =>
  Effect.gen(function*() {
    const outer = yield* Effect.scope
    const lock = yield* Semaphore.make(1)
    let current: { readonly forward: Forward; readonly scope: Scope.Closeable } | undefined
    let failures = 0
    let lastFailureAt = 0
    const ensure = (remotePort: number): Effect.Effect<Forward, E, Exclude<R, Scope.Scope>> =>
      Semaphore.withPermit(
        lock,
        Effect.gen(function*() {
          if (current !== undefined) {
            if (current.forward.remotePort === remotePort && !(yield* Deferred.isDone(current.forward.exited))) return current.forward
            const stale = current
            current = undefined
            yield* Scope.close(stale.scope, Exit.void)
          }
          const wait = restartWaitMs(failures, lastFailureAt, yield* Clock.currentTimeMillis)
          if (wait > 0) {
            yield* Effect.logInfo(`restarting the SSH forward in ${wait} ms (${failures} failed start${failures === 1 ? "" : "s"} in a row)`)
            yield* Effect.sleep(wait)
          }
          const scope = yield* Scope.fork(outer)
          const started = yield* Effect.exit(Scope.provide(scope)(start(remotePort)))
          if (Exit.isFailure(started)) {
            yield* Scope.close(scope, Exit.void)
            failures++
            lastFailureAt = yield* Clock.currentTimeMillis
            return yield* started
          }
          failures = 0
          yield* Effect.logDebug(`SSH forward ready on 127.0.0.1:${started.value.localPort} (ssh pid ${started.value.pid})`)
          current = { forward: started.value, scope }
          return started.value
        }) as Effect.Effect<Forward, E, Exclude<R, Scope.Scope>>
      )
    return { ensure, failures: Effect.sync(() => failures) }
  })

/** The ssh Transport over a given forward keeper and direct Transport (exported for tests). */
export const make = (options: SshTransportOptions) =>
  Effect.gen(function*() {
    const direct = yield* Transport
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const keeper = yield* makeForwardKeeper<TransportError, Scope.Scope>((remotePort) =>
      startWithFreshPort(options, remotePort).pipe(Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner))
    )
    const target = formatSshTarget(options)
    const open = Effect.fn("TransportSsh.open")(function*(url: string, openOptions: OpenOptions) {
      const parsed = URL.canParse(url) ? new URL(url) : undefined
      if (parsed === undefined) {
        return yield* new TransportError({ reason: new Unreachable({ url, detail: "not a valid URL" }) })
      }
      const remotePort = Number(parsed.port || (parsed.protocol === "wss:" ? 443 : 80))
      const forward = yield* keeper.ensure(remotePort)
      const local = `${parsed.protocol}//127.0.0.1:${forward.localPort}${parsed.pathname}${parsed.search}`
      const refused = yield* forward.nextOpenFailure
      return yield* direct.open(local, openOptions).pipe(
        Effect.catchTag("TransportError", (e) =>
          Effect.gen(function*() {
            // ssh accepted the local connection; if it then could not reach the gateway it says so on
            // stderr (a moment after the socket is reset), or it died altogether.
            const why = yield* Effect.raceFirst(
              Effect.map(Deferred.await(refused), (detail) => ({ _tag: "refused" as const, detail })),
              Effect.map(Deferred.await(forward.exited), (x) => ({ _tag: "exited" as const, x }))
            ).pipe(Effect.timeoutOrElse({ duration: 500, orElse: () => Effect.succeed(undefined) }))
            if (why?._tag === "refused") {
              return yield* new TransportError({ reason: new SshRemotePortClosed({ target, remotePort, detail: why.detail }) })
            }
            if (why?._tag === "exited") return yield* toTransportError(options, forward.localPort, remotePort, why.x)
            return yield* new TransportError({
              reason: e.reason._tag === "Unreachable"
                ? new Unreachable({ url: `${url} (through ssh ${target})`, detail: e.reason.detail })
                : e.reason
            })
          })
        )
      )
    })
    return Transport.of({ name: "ssh", open })
  })

/** Provides the ssh Transport (it needs a ChildProcessSpawner; the CLI has NodeServices). */
export const layer = (options: SshTransportOptions): Layer.Layer<Transport, never, ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.effect(Transport, make(options)).pipe(Layer.provide(TransportDirect.layer))

/** The ssh Transport's shape, for code that wants a forward without a socket (`gatehouse tunnel`). */
export type SshTransport = TransportShape

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** A free port picked by the kernel: another program may take it first, so a bind failure is retried. */
const startWithFreshPort = (options: SshTransportOptions, remotePort: number) =>
  startForward(options, remotePort).pipe(
    Effect.catchIf(
      (e) => options.localPort === undefined && e.reason._tag === "SshLocalPortInUse",
      () => startForward(options, remotePort)
    )
  )

const freeLocalPort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.once("error", () => resume(Effect.succeed(0)))
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as { port: number }).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

const toTransportError = (options: SshTransportOptions, localPort: number, remotePort: number, x: SshExit) => {
  const target = formatSshTarget(options)
  switch (x.kind) {
    case "host-key-changed":
      return new TransportError({ reason: new SshHostKeyRejected({ target, changed: true, detail: x.detail }) })
    case "host-key-unknown":
      return new TransportError({ reason: new SshHostKeyRejected({ target, changed: false, detail: x.detail }) })
    case "auth-refused":
      return new TransportError({ reason: new SshAuthRefused({ target, detail: x.detail }) })
    case "local-port-in-use":
      return new TransportError({ reason: new SshLocalPortInUse({ port: localPort, detail: x.detail }) })
    case "connect-failed":
      return new TransportError({ reason: new SshConnectFailed({ target, detail: x.detail }) })
    case "remote-port-closed":
      return new TransportError({ reason: new SshRemotePortClosed({ target, remotePort, detail: x.detail }) })
    case "other":
      return new TransportError({
        reason: new SshExited({ target, detail: x.detail, ...(x.exitCode === undefined ? {} : { exitCode: x.exitCode }) })
      })
  }
}
