/**
 * OpenTelemetry export of the gateway's traces and metrics over OTLP/HTTP, with
 * Effect's own exporters (`effect/observability`), when
 * `diagnostics.otel.endpoint` is configured: spans of every RPC (the RPC server
 * traces only then, so the per-frame path pays nothing otherwise) and every
 * metric `/metrics` shows. The headers (an API key, often) are sent to the
 * endpoint and never logged; `config.get` redacts them.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { ConfigError } from "../config/errors.ts"
import { redactUrl } from "../config/redact.ts"
import type { FileConfig } from "../config/schema.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { GATEHOUSE_VERSION } from "../version.ts"

type OtelSettings = NonNullable<NonNullable<FileConfig["diagnostics"]>["otel"]>

/** The OTLP settings when export is on (an endpoint is set and `enabled` is not false). */
export const otelSettings = (file: FileConfig): (OtelSettings & { readonly endpoint: string }) | undefined => {
  const otel = file.diagnostics?.otel
  return otel?.endpoint === undefined || otel.endpoint.trim() === "" || otel.enabled === false ? undefined : { ...otel, endpoint: otel.endpoint.trim() }
}

/** Exporters for the configured endpoint, or nothing; a malformed endpoint stops the start with a fix. */
export const layer: Layer.Layer<never, ConfigError, GatewayConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const otel = otelSettings(config.file.config)
    if (otel === undefined) return Layer.empty
    const parsed = Result.try(() => new URL(otel.endpoint))
    if (Result.isFailure(parsed) || !/^https?:$/.test(parsed.success.protocol)) {
      return yield* new ConfigError({
        reason: "invalid",
        message: `diagnostics.otel.endpoint in ${config.paths.configPath} is not an http(s) URL\nFix: set it to the collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318`
      })
    }
    const base = otel.endpoint.replace(/\/+$/, "")
    const protocol = otel.protocol ?? "http/protobuf"
    const common = {
      resource: { serviceName: otel.serviceName ?? "gatehouse", serviceVersion: GATEHOUSE_VERSION },
      headers: otel.headers ?? {},
      exportInterval: Duration.millis(otel.flushIntervalMs ?? 10_000),
      shutdownTimeout: Duration.seconds(3)
    }
    // Loaded only when configured: the exporters and their HTTP client are not needed by most gateways.
    const [FetchHttpClient, OtlpMetrics, OtlpSerialization, OtlpTracer] = yield* Effect.promise(() =>
      Promise.all([
        import("effect/http/FetchHttpClient"),
        import("effect/observability/OtlpMetrics"),
        import("effect/observability/OtlpSerialization"),
        import("effect/observability/OtlpTracer")
      ])
    )
    yield* Effect.logInfo(`OpenTelemetry: exporting traces and metrics to ${redactUrl(base)} (${protocol})`)
    return Layer.mergeAll(
      OtlpTracer.layer({ ...common, url: `${base}/v1/traces` }),
      OtlpMetrics.layer({ ...common, url: `${base}/v1/metrics` })
    ).pipe(
      Layer.provide(protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
      Layer.provide(FetchHttpClient.layer)
    )
  })
)
