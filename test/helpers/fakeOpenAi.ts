import * as Effect from "effect/Effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** One request the server received: its headers and parsed JSON body. */
export interface ModelRequest {
  readonly url: string
  readonly authorization: string | undefined
  readonly body: any
}

/** What the server answers one request with: a status and a raw body (JSON documents are stringified). */
export interface ModelAnswer {
  readonly status?: number
  readonly body: unknown
}

/** A chat completion whose message calls `name` with `args`. */
export const toolCallAnswer = (name: string, args: unknown, id = "call_1"): ModelAnswer => ({
  body: {
    id: "chatcmpl-test",
    object: "chat.completion",
    choices: [{
      index: 0,
      finish_reason: "tool_calls",
      message: { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name, arguments: JSON.stringify(args) } }] }
    }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
  }
})

/** A chat completion whose message is the final text. */
export const textAnswer = (text: string): ModelAnswer => ({
  body: {
    id: "chatcmpl-test",
    object: "chat.completion",
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: text } }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
  }
})

/**
 * An OpenAI-compatible `/v1/chat/completions` double on 127.0.0.1, with the real
 * request and response shapes. `script` decides each answer from the request and
 * how many came before; every request is recorded. `hold` leaves requests unanswered.
 */
export const startFakeOpenAi = async (script: (request: ModelRequest, index: number) => ModelAnswer | "hold") => {
  const requests: Array<ModelRequest> = []
  const held: Array<ServerResponse> = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ""
    req.on("data", (chunk) => (raw += chunk))
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        res.writeHead(404, { "content-type": "application/json" })
        return res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }))
      }
      const request: ModelRequest = { url: req.url, authorization: req.headers.authorization, body: JSON.parse(raw) }
      requests.push(request)
      const answer = script(request, requests.length - 1)
      if (answer === "hold") return void held.push(res)
      res.writeHead(answer.status ?? 200, { "content-type": "application/json" })
      res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of held) r.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** `startFakeOpenAi`, closed with the scope. */
export const fakeOpenAi = (script: Parameters<typeof startFakeOpenAi>[0]) =>
  Effect.acquireRelease(Effect.promise(() => startFakeOpenAi(script)), (f) => Effect.promise(() => f.close()))

/** The content of the last `tool` message of a request (what the agent sent back from a node). */
export const lastToolResult = (request: ModelRequest): string | undefined =>
  [...(request.body.messages as Array<{ role: string; content: string }>)].reverse().find((m) => m.role === "tool")?.content
