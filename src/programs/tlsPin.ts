/**
 * Which certificate a `wss://` gateway must present. In order: `--trust-fingerprint`
 * (a first-use pin, stored once the gateway presented it), `--tls-fingerprint`, the
 * pin the configuration gives (`gateway.remote.tlsFingerprint`, or this host's own
 * gateway certificate), then the pin stored in the PinStore. A fingerprint a
 * gateway advertises (discovery TXT) is never a pin. With none of these, a
 * terminal user may confirm the presented fingerprint (`confirmFirstUse`).
 */
import * as Effect from "effect/Effect"
import { ConfigError } from "../config/errors.ts"
import { PinStore } from "../services/PinStore.ts"
import { type TlsPin, Transport } from "../services/Transport.ts"
import { colonForm, normalizeFingerprint, pinEndpoint } from "../tls/fingerprint.ts"
import type { Target, TargetTls } from "./gatewayClient.ts"

/** What the user said on the command line. */
export interface PinFlags {
  /** `--tls-fingerprint`: the pin for this call, not stored. */
  readonly tlsFingerprint?: string | undefined
  /** `--trust-fingerprint`: the explicit confirmation that stores (or replaces) the pin. */
  readonly trustFingerprint?: string | undefined
  /** The fingerprint in a setup code the user carried from the gateway host: stored like `--trust-fingerprint`. */
  readonly setupCode?: string | undefined
  /**
   * What a discovered gateway advertises (`gatewayTlsSha256` in its TXT record). A
   * hint anyone on the network can forge: it is never used as a pin, never stored,
   * never replaces one. Accepted here only so that callers cannot mistake it for one.
   */
  readonly advertised?: string | undefined
}

/** The pin a `wss://` target must present (`undefined` for `ws://`, or when nothing pins it). */
export const decidePin = (url: string, flags: PinFlags, configured: TlsPin | undefined) =>
  Effect.gen(function*(): Effect.fn.Return<TargetTls | undefined, ConfigError, PinStore> {
    const trustFlag = yield* parseFlag("--trust-fingerprint", flags.trustFingerprint)
    const fromCode = yield* parseFlag("the setup code's tlsFingerprint", flags.setupCode)
    const trust = trustFlag ?? fromCode
    const flag = yield* parseFlag("--tls-fingerprint", flags.tlsFingerprint)
    const secure = URL.canParse(url) && new URL(url).protocol === "wss:"
    if (!secure) {
      if (trust !== undefined || flag !== undefined) {
        return yield* new ConfigError({ reason: "invalid", message: `--tls-fingerprint/--trust-fingerprint need a wss:// gateway, and ${url} is not one` })
      }
      return undefined
    }
    const store = yield* PinStore
    const endpoint = pinEndpoint(url)
    const storeFailed = (e: { readonly message: string }) => new ConfigError({ reason: "unreadable", message: e.message })
    if (trust !== undefined) {
      return {
        fingerprint: trust,
        pinnedBy: trustFlag !== undefined ? "--trust-fingerprint" : "the setup code",
        onVerified: store.trust(endpoint, trust, trustFlag !== undefined ? "trust-flag" : "setup-code").pipe(
          Effect.tap((pin) => Effect.logInfo(`pinned ${pin.endpoint} to ${pin.fingerprint} (in ${store.location})`)),
          Effect.asVoid
        )
      }
    }
    if (flag !== undefined) return { fingerprint: flag, pinnedBy: "--tls-fingerprint" }
    if (configured !== undefined) return configured
    const stored = yield* store.get(endpoint).pipe(Effect.mapError(storeFailed))
    return stored === undefined ? undefined : { fingerprint: stored.fingerprint, pinnedBy: `the pin stored for ${endpoint} in ${store.location}` }
  })

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const parseFlag = (name: string, value: string | undefined) => {
  if (value === undefined) return Effect.succeed(undefined)
  const canonical = normalizeFingerprint(value)
  return canonical === undefined
    ? Effect.fail(new ConfigError({ reason: "invalid", message: `${name} must be a SHA-256 fingerprint (64 hex digits, or openssl's AB:CD:... form), got "${value}"` }))
    : Effect.succeed(canonical)
}

/**
 * First use on a terminal: when nothing pins a `wss://` target, learns the
 * fingerprint the gateway presents (the Transport refuses it before writing a
 * byte), asks the user with `ask`, and on "yes" pins it, to be stored once the
 * real connection sees the same certificate. On "no", or any other failure, the
 * target is returned as it was (and its connection is refused as unpinned).
 */
export const confirmFirstUse = <T extends Target>(target: T, ask: (question: string) => Effect.Effect<boolean>, timeoutMs: number) =>
  Effect.gen(function*(): Effect.fn.Return<T, never, PinStore | Transport> {
    if (target.tls !== undefined || !URL.canParse(target.url) || new URL(target.url).protocol !== "wss:") return target
    const transport = yield* Transport
    const probe = yield* Effect.scoped(transport.open(target.url, { timeoutMs, maxPayload: 1024 })).pipe(Effect.flip, Effect.option)
    if (probe._tag === "None" || probe.value.reason._tag !== "Unpinned") return target
    const presented = probe.value.reason.presented
    const endpoint = pinEndpoint(target.url)
    const yes = yield* ask(
      `The gateway at ${endpoint} presented a TLS certificate nobody pinned yet, with SHA-256\n  ${presented}\n  (${colonForm(presented)})\n` +
        `Compare it with \`gatehouse status\` on the gateway host. Trust it and pin it? [y/N] `
    )
    if (!yes) return target
    const store = yield* PinStore
    const tls: TargetTls = {
      fingerprint: presented,
      pinnedBy: "the fingerprint you confirmed",
      onVerified: store.trust(endpoint, presented, "prompt").pipe(
        Effect.tap((pin) => Effect.logInfo(`pinned ${pin.endpoint} to ${pin.fingerprint} (in ${store.location})`)),
        Effect.asVoid
      )
    }
    return { ...target, tls }
  })
