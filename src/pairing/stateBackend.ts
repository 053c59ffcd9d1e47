/**
 * Where a pairing state lives, seen by the pairing operations: a backend runs a
 * pure transition atomically on the rows it names. A whole-document backend
 * (file, memory) hands over the entire state; a row backend (PostgreSQL) loads
 * only the rows `keys` names, locks them, and writes back what changed.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { JsonStore } from "../fs/jsonStore.ts"

/**
 * The rows a transition reads or writes. `owners` are device ids (device pairing)
 * or node ids (node pairing): their paired record and their pending requests.
 * `requests` are pending request ids (their owners are loaded too). `codes` are
 * setup-code hashes.
 */
export interface StateKeys {
  readonly owners?: ReadonlyArray<string>
  readonly requests?: ReadonlyArray<string>
  readonly codes?: ReadonlyArray<string>
  /** Also every live pending request, of any owner (for the pending-request budget; bounded by it). */
  readonly allPending?: boolean
}

/** The state could not be read or saved (disk full, database gone). */
export class StateUnavailable extends Schema.TaggedError<StateUnavailable>()("StateUnavailable", {
  message: Schema.String
}) {}

export interface StateBackend<S> {
  /** A state holding at least the rows `keys` names ("all": every row). */
  readonly read: (keys: StateKeys | "all") => Effect.Effect<S, StateUnavailable>
  /**
   * Runs `f` on a state holding at least the rows `keys` names and commits its
   * result atomically before returning `f`'s answer; concurrent transactions never
   * see each other half-done, and none loses another's update.
   */
  readonly transact: <A>(keys: StateKeys | "all", f: (s: S) => readonly [A, S]) => Effect.Effect<A, StateUnavailable>
}

/** A whole-document backend over a JsonStore (the file and memory stores). */
export const documentBackend = <S>(store: JsonStore<S>): StateBackend<S> => ({
  read: () => store.get,
  transact: (_keys, f) => Effect.mapError(store.modify(f), (e) => new StateUnavailable({ message: e.message }))
})
