/**
 * The model-backed agent, on effect/ai: a message becomes a short conversation with
 * a `LanguageModel` that may call one tool, `node_invoke {node, command, params}`,
 * built for each message from NodeRegistry (its description lists the connected
 * nodes and the commands each accepts, bounded in count and size). One tool rather
 * than one per (node, command): the request stays small however many nodes there
 * are, and tool names need no escaping of node names.
 *
 * The loop is bounded: at most `maxSteps` model turns, each node call at most
 * `toolTimeoutMs`, the whole answer at most `timeoutMs`. Every failure (endpoint
 * down, refused key, garbage, a timeout) becomes a reply that says what to check;
 * nothing here crashes the channel, and the API key is never part of a reply.
 * Node calls run as caller `agent:<channel>:<from>`, like the rules agent's.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import * as Prompt from "effect/ai/Prompt"
import * as Tool from "effect/ai/Tool"
import * as Toolkit from "effect/ai/Toolkit"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { randomUUID } from "node:crypto"
import type { ModelAgentSettings } from "../config/agent.ts"
import { resolveNodeRef } from "../nodes/nodeRef.ts"
import { Agent, type IncomingMessage } from "../services/Agent.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { NodeRegistry, type NodeView } from "../services/NodeRegistry.ts"
import { printable } from "../text/printable.ts"
import { describeError, formatAnswer } from "./AgentRules.ts"
import * as ChatCompletions from "./LanguageModelChatCompletions.ts"

/** The bounds of one answer. */
export interface AgentLoopOptions {
  readonly maxSteps: number
  readonly timeoutMs: number
  readonly toolTimeoutMs: number
}

/** Nodes named in the tool's description, commands per node, and the description's length. */
export const MAX_NODES_LISTED = 32
export const MAX_COMMANDS_LISTED = 48
export const MAX_DESCRIPTION_CHARS = 6000
/** The most of one node answer handed back to the model. */
export const MAX_TOOL_RESULT_CHARS = 8000

export const SYSTEM_PROMPT = [
  "You are the assistant of a gatehouse gateway. People write to you from chat channels.",
  "You can run commands on the user's connected machines (nodes) with the node_invoke tool;",
  "use it when the request needs a node, then answer from its result. Answer briefly, in plain text."
].join(" ")

/** The agent, given a LanguageModel and NodeRegistry. */
export const make = (options: AgentLoopOptions) =>
  Effect.gen(function*() {
    const nodes = yield* NodeRegistry
    const model = yield* LanguageModel.LanguageModel

    const reply = (message: IncomingMessage) => {
      const answer = Effect.gen(function*() {
        const connected = (yield* nodes.list.pipe(Effect.orElseSucceed(() => []))).filter((n) => n.connected)
        const NodeInvoke = Tool.make("node_invoke", {
          description: describeNodes(connected),
          parameters: NodeInvokeParams,
          success: Schema.String
        })
        const toolkit = Toolkit.make(NodeInvoke)
        const handlers = yield* toolkit.toHandlers({
          node_invoke: (params) => invokeNode(message, connected, params)
        })
        let prompt = Prompt.make([{ role: "system", content: SYSTEM_PROMPT }, { role: "user", content: message.text }])
        for (let step = 0; step < options.maxSteps; step++) {
          const response = yield* LanguageModel.generateText({ prompt, toolkit }).pipe(Effect.provideContext(handlers))
          if (response.toolCalls.length === 0) {
            const text = response.text.trim()
            return text === "" ? "The model gave an empty answer; try asking again in other words." : text
          }
          prompt = Prompt.concat(prompt, Prompt.fromResponseParts(response.content))
        }
        return `I stopped after ${options.maxSteps} model steps without a final answer (the limit per message); ` +
          "ask again more precisely, or run the command yourself with /run on the rules agent."
      })

      const invokeNode = (
        message: IncomingMessage,
        connected: ReadonlyArray<NodeView>,
        params: typeof NodeInvokeParams.Type
      ): Effect.Effect<string> =>
        Effect.gen(function*() {
          const resolved = resolveNodeRef(connected, params.node)
          if (resolved._tag === "NotFound") return `No connected node is called "${printable(params.node, 80)}".`
          if (resolved._tag === "Ambiguous") {
            return `"${printable(params.node, 80)}" fits several nodes: ${resolved.candidates.map((n) => n.nodeId).join(", ")}; use the full id.`
          }
          const node = resolved.node
          if (!node.invokableCommands.includes(params.command)) {
            return `${printable(params.command, 80)} is not a command ${nameOf(node)} accepts; it accepts: ${node.invokableCommands.join(", ") || "none"}.`
          }
          return yield* nodes.invoke({
            caller: `agent:${message.channel}:${message.from}`,
            nodeId: node.nodeId,
            command: params.command,
            params: params.params,
            timeoutMs: options.toolTimeoutMs,
            idempotencyKey: randomUUID()
          }).pipe(
            Effect.map((answer) => clip(`${params.command} on ${nameOf(node)}:\n${formatAnswer(answer)}`, MAX_TOOL_RESULT_CHARS)),
            Effect.catch((e) => Effect.succeed(describeError(e))),
            // The registry enforces its own timeout; this one also covers a registry that never answers.
            Effect.timeoutOption(Duration.millis(options.toolTimeoutMs + 1000)),
            Effect.map(Option.getOrElse(() => `${params.command} on ${nameOf(node)} did not answer within ${options.toolTimeoutMs} ms.`))
          )
        })

      return answer.pipe(
        Effect.provideService(LanguageModel.LanguageModel, model),
        Effect.timeoutOption(Duration.millis(options.timeoutMs)),
        Effect.map(Option.getOrElse(() =>
          `The model did not finish within ${Math.round(options.timeoutMs / 1000)} s (agents.defaults.timeoutSeconds); try again, or use /run.`
        )),
        Effect.catch((e: AiError.AiError) =>
          Effect.logWarning(`agent: the model call failed: ${printable(e.message, 300)}`).pipe(Effect.as(describeAiError(e)))
        ),
        // A bug here must cost one answer, not the channel.
        Effect.catchDefect((defect) =>
          Effect.logError(`agent: failed unexpectedly: ${printable(String(defect), 300)}`).pipe(
            Effect.as("The agent failed unexpectedly; the gateway log says why.")
          )
        )
      )
    }

    return Agent.of({ reply })
  })

/** The agent over an OpenAI-compatible endpoint, with `fetch` as its HTTP client. */
export const layer = (settings: ModelAgentSettings): Layer.Layer<Agent, never, NodeRegistry> =>
  Layer.effect(Agent, make(settings)).pipe(
    Layer.provide(ChatCompletions.layer(settings)),
    Layer.provide(FetchHttpClient.layer)
  )

/** `layer` with the settings of `agent.*` (which must name the `openai` provider). */
export const layerConfig: Layer.Layer<Agent, never, NodeRegistry | GatewayConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const settings = config.agent
    if (settings.provider !== "openai") return yield* Effect.die(new Error("AgentLanguageModel.layerConfig: no OpenAI-compatible model is configured"))
    yield* Effect.logInfo(`agent: model ${printable(settings.providerId, 40)}/${printable(settings.model, 80)} at ${settings.baseUrl} (key: ${settings.apiKeySource})`)
    return layer(settings)
  })
)

/** The tool's description: what it does, then the connected nodes and their commands, bounded. */
export const describeNodes = (connected: ReadonlyArray<NodeView>): string => {
  const head = "Run a command on one of the user's connected nodes and get its output."
  if (connected.length === 0) return `${head} No node is connected now: tell the user to start one with \`gatehouse node run\`.`
  const lines = connected.slice(0, MAX_NODES_LISTED).map((n) => {
    const commands = n.invokableCommands.slice(0, MAX_COMMANDS_LISTED).map((c) => printable(c, 64))
    const more = n.invokableCommands.length > MAX_COMMANDS_LISTED ? ` (+${n.invokableCommands.length - MAX_COMMANDS_LISTED} more)` : ""
    return `- ${printable(n.displayName ?? "(unnamed)", 64)} (id ${n.nodeId}): ${commands.join(", ") || "no commands"}${more}`
  })
  const extra = connected.length > MAX_NODES_LISTED ? `\n(+${connected.length - MAX_NODES_LISTED} more nodes not listed)` : ""
  return clip(`${head} Connected nodes and the commands they accept:\n${lines.join("\n")}${extra}`, MAX_DESCRIPTION_CHARS)
}

/** A failed model call, in words: what went wrong and what to check (never the key). */
export const describeAiError = (e: AiError.AiError): string => {
  const r = e.reason
  switch (r._tag) {
    case "AuthenticationError":
      return "The model endpoint refused the API key (check models.providers.<provider>.apiKey or GATEHOUSE_AGENT_API_KEY on the gateway)."
    case "RateLimitError":
    case "QuotaExhaustedError":
      return "The model endpoint is rate-limiting or out of quota; try again in a minute."
    case "NetworkError":
      return "I could not reach the model endpoint (check models.providers.<provider>.baseUrl, and that the server is up)."
    case "InternalProviderError":
      return "The model endpoint failed with a server error; try again shortly."
    case "InvalidResponseError":
    case "InvalidOutputError":
      return `The model endpoint answered something I could not read (${printable(r.description ?? "", 160)}); is the provider's baseUrl an OpenAI-compatible /v1 URL?`
    case "InvalidRequestError":
      return `The model endpoint refused the request (${printable(r.description ?? "", 160)}); check agents.defaults.model.`
    case "ToolNotFoundError":
    case "ToolParameterValidationError":
      return "The model called the node tool wrongly; try asking again in other words."
    default:
      return `The model call failed (${r._tag}); see the gateway log.`
  }
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const NodeInvokeParams = Schema.Struct({
  node: Schema.String.annotate({ description: "The node: its id, display name, or an id prefix of 6+ characters" }),
  command: Schema.String.annotate({ description: "One of the commands the node accepts, e.g. system.which" }),
  params: Schema.optional(Schema.Unknown).annotate({ description: "The command's parameters as a JSON object, e.g. {\"name\":\"sh\"}" })
})

const nameOf = (n: NodeView) => n.displayName ?? n.nodeId.slice(0, 12)

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)
