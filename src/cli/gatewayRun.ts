/**
 * `gatehouse gateway run`: the gateway in the foreground until SIGINT/SIGTERM,
 * when it sends `shutdown`, closes every client with 1012 and runs every finalizer.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { AUTH_MODES, BIND_MODES } from "../config/schema.ts"
import { GatewayServer } from "../services/GatewayServer.ts"
import * as Gateway from "../gateway.ts"
import * as MemoryGiveBack from "../layers/MemoryGiveBack.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { GATEHOUSE_VERSION } from "../version.ts"
import { reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { safeMessages } from "../observability/safeLogger.ts"
import { levelOf, withLiveLevel } from "../observability/liveLevel.ts"
import * as References from "effect/References"
import * as SubscriptionRef from "effect/SubscriptionRef"

const flags = {
  port: Flag.Int("port").pipe(Flag.withDescription("Port (default 18789, or the profile's)"), Flag.optional),
  bind: Flag.Literals("bind", BIND_MODES).pipe(Flag.withDescription("Where to listen"), Flag.optional),
  host: Flag.String("host").pipe(Flag.withDescription("Address to listen on (implies --bind custom)"), Flag.optional),
  auth: Flag.Literals("auth", AUTH_MODES).pipe(Flag.withDescription("Auth mode"), Flag.optional),
  token: Flag.Redacted("token").pipe(Flag.withDescription("Gateway token"), Flag.optional),
  password: Flag.Redacted("password").pipe(Flag.withDescription("Gateway password"), Flag.optional),
  tls: Flag.Boolean("tls").pipe(
    Flag.withDescription("Serve wss:// (and HTTPS probes) with a self-signed certificate kept under the state dir, or gateway.tls.certPath/keyPath"),
    Flag.withDefault(false)
  ),
  logFormat: Flag.Literals("log-format", ["pretty", "json"]).pipe(
    Flag.withDescription("Log format (default: pretty, or logging.format)"),
    Flag.optional
  )
}

export const gatewayRun = Command.make("run", flags, (f) =>
  Effect.gen(function*() {
    const shared = yield* root
    const overrides = {
      profile: Option.getOrUndefined(shared.profile),
      dev: shared.dev,
      port: Option.getOrUndefined(f.port),
      bind: Option.getOrUndefined(f.bind),
      host: Option.getOrUndefined(f.host),
      auth: Option.getOrUndefined(f.auth),
      token: Option.getOrUndefined(f.token),
      password: Option.getOrUndefined(f.password),
      tls: f.tls
    }
    const config = yield* GatewayConfig.make(overrides, process.env)
    const format = Option.getOrUndefined(f.logFormat) ?? config.config.file.config.logging?.format ?? "pretty"
    // `logging.level` is read per record for the console (a reload changes it); records below info (or the level at
    // start, when more verbose) are never made, so debug and trace need a restart. The format is fixed at start.
    const startLevel = levelOf(config.config.file.config.logging?.level)
    const loggerLayer = Layer.merge(
      Logger.layer([withLiveLevel(
        safeMessages(format === "json" ? Logger.consoleJson : Logger.consolePretty({ colors: false })),
        () => SubscriptionRef.getUnsafe(config.live).config.file.config.logging?.level
      )]),
      Layer.succeed(References.MinimumLogLevel, startLevel === "Debug" || startLevel === "Trace" ? startLevel : "Info")
    )
    const announce = Effect.gen(function*() {
      const server = yield* GatewayServer
      yield* Effect.logInfo(`gatehouse ${GATEHOUSE_VERSION} listening on ${server.url}`).pipe(
        Effect.annotateLogs({
          pid: process.pid,
          stateDir: config.config.paths.stateDir,
          auth: config.config.authMode.value,
          ...(server.tlsFingerprint === undefined ? {} : { tlsSha256: server.tlsFingerprint })
        })
      )
      return yield* Effect.never
    })
    yield* announce.pipe(
      // The daemon gives back what start-up and bursts of load left committed (layers/MemoryGiveBack.ts); built once
      // the gateway listens, so its first sample (500 ms on) gives back what start-up left.
      Effect.provide(MemoryGiveBack.layer),
      Effect.provide(Gateway.layerDefault().pipe(Layer.provide(Layer.succeed(GatewayConfig)(config)))),
      Effect.provide(loggerLayer)
    )
  }).pipe((body) => reportFailures(body))
).pipe(Command.withDescription("Run the gateway in the foreground (Ctrl-C stops it cleanly)"))
