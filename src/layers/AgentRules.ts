/**
 * The rules agent, the embedded default: it answers slash commands without any
 * model or network. `/help`, `/nodes` (connected nodes and what they can be asked),
 * `/status`, `/run <node> <command> [json params]` (a node call on behalf of the
 * sender); anything else gets a pointer to `/help`. Nodes are named as on the
 * command line: id, display name, or an id prefix of 6+ characters.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { randomUUID } from "node:crypto"
import { resolveNodeRef } from "../nodes/nodeRef.ts"
import { Agent, type IncomingMessage } from "../services/Agent.ts"
import { GatewayInfo } from "../services/GatewayInfo.ts"
import { NodeRegistry, type NodeRegistryError, type NodeView } from "../services/NodeRegistry.ts"
import { GATEHOUSE_VERSION } from "../version.ts"

export const HELP = [
  "I am the gatehouse rules agent. I understand:",
  "/nodes: the connected nodes and the commands they accept",
  "/run <node> <command> [json params]: run a command on a node, e.g. /run my-laptop system.which {\"name\":\"sh\"}",
  "/status: the gateway's state",
  "/help: this text"
].join("\n")

export const make = Effect.gen(function*() {
  const nodes = yield* NodeRegistry
  const info = yield* GatewayInfo

  const connected = nodes.list.pipe(
    Effect.map((all) => all.filter((n) => n.connected)),
    Effect.catch((e) => Effect.fail(describeError(e)))
  )

  const listNodes = Effect.gen(function*() {
    const list = yield* connected
    if (list.length === 0) return "No node is connected. Start one with `gatehouse node run` (or `openclaw node run`)."
    return list.map((n) =>
      `${nameOf(n)} (${n.nodeId.slice(0, 12)}): ${n.invokableCommands.length === 0 ? "no invokable commands" : n.invokableCommands.join(", ")}`
    ).join("\n")
  })

  const status = Effect.gen(function*() {
    const list = yield* connected
    const uptimeS = Math.floor((yield* info.uptimeMs) / 1000)
    return `gatehouse ${GATEHOUSE_VERSION}, up ${uptimeS} s, ${list.length} node${list.length === 1 ? "" : "s"} connected`
  })

  const run = (message: IncomingMessage, args: string) =>
    Effect.gen(function*() {
      const m = /^(\S+)\s+(\S+)(?:\s+([\s\S]+))?$/.exec(args.trim())
      if (m === null) return "Usage: /run <node> <command> [json params]"
      const [, ref, command, rawParams] = m as unknown as [string, string, string, string | undefined]
      const parsed = rawParams === undefined ? Result.succeed(undefined) : Result.try(() => JSON.parse(rawParams) as unknown)
      if (Result.isFailure(parsed)) return `The params must be JSON, e.g. {"name":"sh"}; got: ${rawParams!.slice(0, 200)}`
      const params = parsed.success
      const resolved = resolveNodeRef(yield* connected, ref)
      if (resolved._tag === "NotFound") return `No connected node is called "${ref}". Send /nodes to see them.`
      if (resolved._tag === "Ambiguous") {
        return `"${ref}" fits several nodes: ${resolved.candidates.map((n) => n.nodeId).join(", ")}. Use a longer id.`
      }
      const answer = yield* nodes.invoke({
        caller: `agent:${message.channel}:${message.from}`,
        nodeId: resolved.node.nodeId,
        command,
        params,
        idempotencyKey: randomUUID()
      }).pipe(Effect.catch((e) => Effect.fail(describeError(e))))
      return `${command} on ${nameOf(resolved.node)}:\n${formatAnswer(answer)}`
    })

  const reply = (message: IncomingMessage) => {
    const text = message.text.trim()
    const [word = "", ...rest] = text.split(/\s+/)
    // Telegram appends the bot's name in groups: /run@my_bot …
    const commandWord = word.toLowerCase().replace(/@\S*$/, "")
    const args = text.slice(word.length)
    const answer: Effect.Effect<string, string> = commandWord === "/help" || commandWord === "/start"
      ? Effect.succeed(HELP)
      : commandWord === "/nodes"
      ? listNodes
      : commandWord === "/status"
      ? status
      : commandWord === "/run"
      ? run(message, args)
      : Effect.succeed(
        rest.length === 0 && word.startsWith("/")
          ? `I don't know ${word}. ${HELP}`
          : `I only understand commands for now. ${HELP}`
      )
    return Effect.catch(answer, (why) => Effect.succeed(why))
  }

  return Agent.of({ reply })
})

export const layer = Layer.effect(Agent, make)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const nameOf = (n: NodeView) => n.displayName ?? n.nodeId.slice(0, 12)

/** The node's answer as NodeRegistry hands it back (`{ok, nodeId, payload, payloadJSON}`), as text. */
export const formatAnswer = (answer: unknown): string => {
  const a = (typeof answer === "object" && answer !== null ? answer : {}) as { payload?: unknown; payloadJSON?: unknown }
  const json = a.payloadJSON
  const payload = a.payload !== undefined || typeof json !== "string"
    ? a.payload
    : Result.getOrElse(Result.try(() => JSON.parse(json) as unknown), () => json)
  if (payload === undefined || payload === null) return "(done, no output)"
  return typeof payload === "string" ? payload : JSON.stringify(payload, null, 2)
}

/** A failed node call, in words a person (or a model) can act on. */
export const describeError = (e: NodeRegistryError): string => {
  const r = e.reason
  switch (r._tag) {
    case "NodeNotConnected":
      return `The node ${r.nodeId} is not connected${r.why === undefined ? "" : ` (${r.why})`}.`
    case "NodeRequestRefused":
      return `Refused: ${r.message}`
    case "NodeBusy":
      return `The ${r.scope === "caller" ? "agent has" : "node has"} too many calls in flight (at most ${r.limit}); try again shortly.`
    case "NodeInvokeTimeout":
      return `${r.command} on ${r.nodeId} did not answer within ${r.timeoutMs} ms.`
    case "NodeReportedFailure":
      return `The node reported ${r.code}: ${r.message === "" ? "a failure" : r.message}`
    default:
      return `The node call failed: ${r.message}`
  }
}
