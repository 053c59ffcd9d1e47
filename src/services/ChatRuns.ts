/**
 * ChatRuns: agent runs on behalf of operators (WebChat `chat.send`, `agent`).
 * A run asks the Agent for a reply in a session, records both sides in
 * ChatHistory, and tells subscribed operators how it goes (`chat` and `agent`
 * events). Runs can be aborted and waited for; idempotency keys are scoped to the
 * caller; concurrent runs are capped per caller and in total. One
 * implementation: `ChatRunsLive`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** Runs in flight at once, per caller and in total. */
export const MAX_RUNS_PER_CALLER = 4
export const MAX_RUNS_TOTAL = 32
/** Finished runs remembered for `agent.wait` and idempotency keys remembered per gateway. */
export const RUNS_REMEMBERED = 1_000
/** The agent id runs report (gatehouse has one agent). */
export const AGENT_ID = "main"
/** The session a run goes to when the caller names none. */
export const DEFAULT_SESSION_KEY = "main"
/** How long a run may take when the caller does not say (and at most). */
export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000
/** How long `agent.wait` waits when the caller does not say. */
export const DEFAULT_WAIT_MS = 30_000

export interface RunRequest {
  /** Who asks (a device id or connection id): idempotency keys and abort rights are theirs. */
  readonly caller: string
  readonly sessionKey: string
  readonly message: string
  readonly idempotencyKey: string
  /** Where the message came from, as the Agent sees it (`webchat`, `agent`). */
  readonly channel: string
  /** How long the run may take (default and cap `DEFAULT_RUN_TIMEOUT_MS`); past it the run ends with an error. */
  readonly timeoutMs?: number | undefined
}

export interface RunTicket {
  readonly runId: string
  readonly sessionKey: string
  /** `started`: a new run; `in_flight`: the key's run is still going; `ok`/`error`/`aborted`: it has ended. */
  readonly status: "started" | "in_flight" | RunStatus
  readonly acceptedAt: number
}

export type RunStatus = "ok" | "error" | "aborted"

export interface RunOutcome {
  readonly runId: string
  readonly sessionKey: string
  readonly status: RunStatus
  /** The agent's reply (status `ok`). */
  readonly text?: string
  /** Why the run failed (status `error`). */
  readonly error?: string
  readonly startedAt: number
  readonly endedAt: number
}

/** Too many runs in flight for this caller or for the gateway. */
export class RunsBusy extends Schema.TaggedClass<RunsBusy>()("RunsBusy", {
  scope: Schema.Literals(["caller", "gateway"]),
  limit: Schema.Number
}) {}

/** No run with this id is known (never started, or forgotten long ago). */
export class RunUnknown extends Schema.TaggedClass<RunUnknown>()("RunUnknown", { runId: Schema.String }) {}

export class ChatRunsError extends Schema.TaggedError<ChatRunsError>()("ChatRunsError", {
  reason: Schema.Union([RunsBusy, RunUnknown])
}) {}

export interface ChatRunsShape {
  /** Starts a run (or finds the caller's run with the same idempotency key). */
  readonly start: (request: RunRequest) => Effect.Effect<RunTicket, ChatRunsError>
  /** The run's end, waiting as long as it takes. */
  readonly outcome: (runId: string) => Effect.Effect<RunOutcome, ChatRunsError>
  /** The run's end, or `undefined` when it has not ended within `timeoutMs`. */
  readonly wait: (runId: string, timeoutMs: number) => Effect.Effect<RunOutcome | undefined, ChatRunsError>
  /** Aborts the session's runs (only `runId` when given) that `caller` may stop; `admin` may stop anyone's. */
  readonly abort: (options: {
    readonly caller: string
    readonly admin: boolean
    readonly sessionKey: string
    readonly runId?: string | undefined
  }) => Effect.Effect<ReadonlyArray<string>>
}

export class ChatRuns extends Context.Service<ChatRuns, ChatRunsShape>()("gatehouse/services/ChatRuns") {}
