/**
 * Which way a client reaches a remote gateway, in order:
 *
 *   1. the paired direct endpoint (`gateway.remote.url`), when configured and reachable;
 *   2. a gateway found by discovery: the user chooses one, and the choice is to be
 *      saved as the direct endpoint;
 *   3. the configured tailnet name or IP (`gateway.remote.tailnet`), when reachable;
 *   4. SSH (`gateway.remote.sshTarget`): an `ssh -N -L` forward, not probed here
 *      (starting ssh is the probe).
 *
 * The policy is data in, data out: reachability and the user's choice are
 * effects passed in, so tests give fake ones and move a TestClock past probe
 * timeouts. The answer names the route taken and why each other one was skipped.
 */
import * as Effect from "effect/Effect"
import type { SshEndpoint } from "./ssh.ts"

export type RouteKind = "direct" | "discovered" | "tailnet" | "ssh"

/** A gateway seen by discovery, as a candidate. */
export interface DiscoveredCandidate {
  readonly name: string
  readonly url: string
}

export interface SelectionInput {
  /** `gateway.remote.url`: the paired direct endpoint. */
  readonly direct?: string | undefined
  /** Gateways discovery found (empty: none, or discovery is off). */
  readonly discovered: ReadonlyArray<DiscoveredCandidate>
  /** Why discovery has nothing, when it does not run ("discovery is disabled"). */
  readonly discoveryNote?: string | undefined
  /** The gateway's URL on the tailnet (built from `gateway.remote.tailnet`). */
  readonly tailnet?: string | undefined
  /** `gateway.remote.sshTarget` and friends. */
  readonly ssh?: SshEndpoint | undefined
}

/** The chosen route. */
export type Route =
  | { readonly kind: "direct" | "tailnet"; readonly url: string }
  | { readonly kind: "discovered"; readonly url: string; readonly name: string }
  | { readonly kind: "ssh"; readonly ssh: SshEndpoint }

export interface Skipped {
  readonly kind: RouteKind
  readonly reason: string
}

export interface Selection {
  /** Undefined when no route is left: `skipped` says why for each. */
  readonly route: Route | undefined
  readonly skipped: ReadonlyArray<Skipped>
  /** The discovered gateway the user chose, to be saved as the direct endpoint. */
  readonly saveAsDirect?: string | undefined
}

export interface SelectionEffects<R> {
  /** Whether something answers at the URL (a TCP connect, bounded by its own timeout). */
  readonly reachable: (url: string) => Effect.Effect<boolean, never, R>
  /** Asks the user which discovered gateway to use; undefined: none (or cannot ask). */
  readonly choose: (candidates: ReadonlyArray<DiscoveredCandidate>) => Effect.Effect<DiscoveredCandidate | undefined, never, R>
}

/** Runs the policy; probes stop at the first route that works. */
export const selectRoute = <R>(input: SelectionInput, effects: SelectionEffects<R>): Effect.Effect<Selection, never, R> =>
  Effect.gen(function*() {
    const skipped: Array<Skipped> = []
    if (input.direct === undefined) skipped.push({ kind: "direct", reason: "no paired direct endpoint (gateway.remote.url) is configured" })
    else if (yield* effects.reachable(input.direct)) return { route: { kind: "direct", url: input.direct }, skipped }
    else skipped.push({ kind: "direct", reason: `${input.direct} did not answer` })

    if (input.discovered.length === 0) {
      skipped.push({ kind: "discovered", reason: input.discoveryNote ?? "discovery found no gateway" })
    } else {
      const chosen = yield* effects.choose(input.discovered)
      if (chosen === undefined) {
        skipped.push({ kind: "discovered", reason: `${input.discovered.length} gateway(s) discovered, none chosen` })
      } else if (yield* effects.reachable(chosen.url)) {
        return { route: { kind: "discovered", url: chosen.url, name: chosen.name }, skipped, saveAsDirect: chosen.url }
      } else {
        skipped.push({ kind: "discovered", reason: `the chosen gateway ${chosen.name} (${chosen.url}) did not answer` })
      }
    }

    if (input.tailnet === undefined) skipped.push({ kind: "tailnet", reason: "no tailnet name or IP (gateway.remote.tailnet) is configured" })
    else if (yield* effects.reachable(input.tailnet)) return { route: { kind: "tailnet", url: input.tailnet }, skipped }
    else skipped.push({ kind: "tailnet", reason: `${input.tailnet} did not answer` })

    if (input.ssh === undefined) {
      skipped.push({ kind: "ssh", reason: "no SSH target (gateway.remote.sshTarget or --ssh) is configured" })
      return { route: undefined, skipped }
    }
    return { route: { kind: "ssh", ssh: input.ssh }, skipped }
  })

/** The route for an explicit choice (`--ssh`, `gateway.remote.transport: "ssh"`): the others are skipped by request. */
export const forcedSsh = (ssh: SshEndpoint, why: string): Selection => ({
  route: { kind: "ssh", ssh },
  skipped: (["direct", "discovered", "tailnet"] as const).map((kind) => ({ kind, reason: why }))
})

/**
 * A reachability probe with a deadline: `probe` answering false, failing, or not
 * answering within `timeoutMs` (by the Clock) all count as unreachable.
 */
export const withProbeTimeout = <E, R>(probe: Effect.Effect<boolean, E, R>, timeoutMs: number): Effect.Effect<boolean, never, R> =>
  probe.pipe(
    Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.succeed(false) }),
    Effect.orElseSucceed(() => false)
  )
