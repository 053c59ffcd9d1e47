/**
 * A `LanguageModel` (effect/ai) for any OpenAI-compatible `POST <baseUrl>/chat/completions`
 * endpoint (OpenAI, OpenRouter, LiteLLM, vLLM, Ollama, llama.cpp…), over effect/http's
 * HttpClient: text in, text and function tool calls out, no streaming.
 *
 * Why not `@effect/ai-openai`: its 0.x line needs effect 3, and its effect-4 releases
 * (4.0.0-beta.*) import `effect/unstable/ai/*` and `effect/unstable/http/*`, which effect
 * 4.1 no longer ships (they became `effect/ai` and `effect/http`); it does not load here.
 *
 * The API key travels only in the Authorization header: no error this module fails with
 * contains it (a provider that echoes it back in its error text gets it masked).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import type * as Prompt from "effect/ai/Prompt"
import type * as Response from "effect/ai/Response"
import * as Tool from "effect/ai/Tool"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { printable } from "../text/printable.ts"

/** Where and what to ask. `baseUrl` ends before `/chat/completions` (e.g. `https://api.openai.com/v1`). */
export interface ChatCompletionsOptions {
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Redacted.Redacted<string> | undefined
}

/** The most of a response body read (a model's answer is far smaller; a runaway server is cut off). */
export const MAX_RESPONSE_CHARS = 1024 * 1024

/** The LanguageModel service speaking to `options.baseUrl`. */
export const make = (options: ChatCompletionsOptions) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`
    const mask = (text: string) => {
      const key = options.apiKey === undefined ? "" : Redacted.value(options.apiKey)
      return printable(key.length >= 4 ? text.split(key).join("***") : text, 300)
    }
    const fail = (reason: AiError.AiErrorReason) => Effect.fail(AiError.make({ module: "ChatCompletions", method: "generateText", reason }))

    const generateText = (provider: LanguageModel.ProviderOptions) =>
      Effect.gen(function*() {
        const body = {
          model: options.model,
          messages: toMessages(provider.prompt),
          ...(provider.tools.length === 0 ? {} : { tools: provider.tools.map(toFunction), tool_choice: toToolChoice(provider.toolChoice) })
        }
        const base = HttpClientRequest.post(url).pipe(HttpClientRequest.acceptJson, HttpClientRequest.bodyJsonUnsafe(body))
        const request = options.apiKey === undefined ? base : HttpClientRequest.bearerToken(base, options.apiKey)
        const networkError = (e: { readonly message: string }) =>
          new AiError.NetworkError({ reason: "TransportError", method: "POST", url, description: mask(e.message) })
        const response = yield* client.execute(request).pipe(Effect.catch((e) => fail(networkError(e))))
        // Read up to the cap and no further: a server that streams gigabytes must not take the gateway's memory.
        const tooLarge = new AiError.InvalidResponseError({ description: `the answer is larger than ${MAX_RESPONSE_CHARS} bytes` })
        const declared = Number(response.headers["content-length"] ?? Number.NaN)
        if (Number.isFinite(declared) && declared > MAX_RESPONSE_CHARS) return yield* fail(tooLarge)
        const chunks: Array<Uint8Array> = []
        let received = 0
        const read = yield* Stream.runForEach(response.stream, (chunk) => {
          received += chunk.length
          if (received > MAX_RESPONSE_CHARS) return Effect.fail("too-large" as const)
          chunks.push(chunk)
          return Effect.void
        }).pipe(Effect.result)
        if (Result.isFailure(read)) return yield* (read.failure === "too-large" ? fail(tooLarge) : fail(networkError(read.failure as { message: string })))
        const text = Buffer.concat(chunks).toString("utf8")
        const json = Result.try(() => JSON.parse(text) as unknown)
        if (response.status >= 400) {
          const said = Result.isSuccess(json) ? errorMessageOf(json.success) : undefined
          return yield* fail(AiError.reasonFromHttpStatus({ status: response.status, description: mask(said ?? `HTTP ${response.status}`) }))
        }
        if (Result.isFailure(json)) {
          return yield* fail(new AiError.InvalidResponseError({ description: `not JSON: ${mask(text.slice(0, 120))}` }))
        }
        const decoded = decodeCompletion(json.success)
        if (Result.isFailure(decoded)) {
          return yield* fail(new AiError.InvalidResponseError({ description: `not a chat completion: ${mask(decoded.failure.message)}` }))
        }
        return yield* toParts(decoded.success, fail)
      })

    return yield* LanguageModel.make({
      generateText,
      streamText: () =>
        Stream.fail(AiError.make({
          module: "ChatCompletions",
          method: "streamText",
          reason: new AiError.InvalidUserInputError({ description: "streaming is not implemented by this provider layer" })
        }))
    })
  })

/** `make` as a layer. */
export const layer = (options: ChatCompletionsOptions): Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const ToolCall = Schema.Struct({
  id: Schema.optional(Schema.String),
  type: Schema.optional(Schema.String),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.optional(Schema.NullOr(Schema.String)) })
})

const Completion = Schema.Struct({
  id: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall)))
    })
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.Number),
    completion_tokens: Schema.optional(Schema.Number)
  })))
})
type Completion = typeof Completion.Type

const decodeCompletion = Schema.decodeUnknownResult(Completion)

const FINISH: Record<string, Response.FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter"
}

const toParts = (
  completion: Completion,
  fail: (reason: AiError.AiErrorReason) => Effect.Effect<never, AiError.AiError>
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
  const choice = completion.choices[0]
  if (choice === undefined) return fail(new AiError.InvalidResponseError({ description: "the completion has no choices" }))
  const parts: Array<Response.PartEncoded> = []
  const content = choice.message.content ?? ""
  if (content.length > 0) parts.push({ type: "text", text: content })
  let n = 0
  for (const call of choice.message.tool_calls ?? []) {
    const args = call.function.arguments ?? ""
    const params = args.trim() === "" ? Result.succeed({}) : Result.try(() => JSON.parse(args) as unknown)
    if (Result.isFailure(params)) {
      return fail(new AiError.InvalidResponseError({ description: `tool call ${printable(call.function.name, 64)} has arguments that are not JSON` }))
    }
    parts.push({ type: "tool-call", id: call.id ?? `call_${n++}`, name: call.function.name, params: params.success })
  }
  parts.push({
    type: "finish",
    reason: FINISH[choice.finish_reason ?? ""] ?? (parts.some((p) => p.type === "tool-call") ? "tool-calls" : "unknown"),
    usage: {
      inputTokens: { total: intOrUndefined(completion.usage?.prompt_tokens) },
      outputTokens: { total: intOrUndefined(completion.usage?.completion_tokens) }
    }
  })
  return Effect.succeed(parts)
}

const intOrUndefined = (n: number | undefined) => (n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined)

// The error text OpenAI-compatible servers put in `{"error":{"message"}}` (or a bare string).
const errorMessageOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null) return undefined
  const error = (body as { error?: unknown }).error
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message
  }
  return undefined
}

type ChatMessage =
  | { readonly role: "system" | "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string | null; readonly tool_calls?: ReadonlyArray<unknown> }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

// The prompt as chat messages: text parts joined, tool calls as `tool_calls`, each tool result its own `tool` message.
const toMessages = (prompt: Prompt.Prompt): Array<ChatMessage> => {
  const out: Array<ChatMessage> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        out.push({ role: "system", content: message.content })
        break
      case "user":
        out.push({ role: "user", content: message.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n") })
        break
      case "assistant": {
        const text = message.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n")
        const calls = message.content.flatMap((p) =>
          p.type === "tool-call" ? [{ id: p.id, type: "function", function: { name: p.name, arguments: JSON.stringify(p.params ?? {}) } }] : []
        )
        const results = message.content.flatMap((p) => (p.type === "tool-result" ? [p] : []))
        out.push(calls.length === 0 ? { role: "assistant", content: text } : { role: "assistant", content: text === "" ? null : text, tool_calls: calls })
        for (const r of results) out.push({ role: "tool", tool_call_id: r.id, content: resultText(r.result) })
        break
      }
      case "tool":
        for (const r of message.content) {
          if (r.type === "tool-result") out.push({ role: "tool", tool_call_id: r.id, content: resultText(r.result) })
        }
        break
    }
  }
  return out
}

const resultText = (result: unknown) => (typeof result === "string" ? result : JSON.stringify(result) ?? "null")

const toFunction = (tool: Tool.Any) => ({
  type: "function",
  function: { name: tool.name, description: Tool.getDescription(tool) ?? "", parameters: Tool.getJsonSchema(tool) }
})

const toToolChoice = (choice: LanguageModel.ToolChoice<string>): unknown =>
  typeof choice === "string"
    ? choice
    : "tool" in choice
    ? { type: "function", function: { name: choice.tool } }
    : choice.mode ?? "auto"
