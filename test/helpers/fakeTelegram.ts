import * as Effect from "effect/Effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface SentMessage {
  readonly chat_id: number
  readonly text: string
}

/**
 * A Bot API double on 127.0.0.1: `getUpdates` (long polling, answering every
 * queued update with an id at or above `offset`, as Telegram does until confirmed)
 * and `sendMessage` (recorded). It keeps every update, so a client that forgets its
 * offset is caught answering one twice.
 */
export const fakeTelegram = (token: string) =>
  Effect.acquireRelease(
    Effect.promise(() => start(token)),
    (f) => Effect.promise(() => f.close())
  )

/** The same double, started outside Effect (for beforeAll/afterAll suites). */
export const startFakeTelegram = (token: string) => start(token)

const start = async (token: string) => {
  const updates: Array<{ update_id: number }> = []
  const sent: Array<SentMessage> = []
  const offsets: Array<number | undefined> = []
  const pollers = new Set<() => void>()
  const sendWaiters = new Set<() => void>()
  const pollWaiters = new Set<() => void>()
  let nextUpdateId = 1000
  let rateLimited: Array<number> = []

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ""
    req.on("data", (chunk) => (raw += chunk))
    req.on("end", () => {
      const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "")
      if (m === null) return json(res, 404, { ok: false, error_code: 404, description: "Not Found" })
      if (m[1] !== token) return json(res, 401, { ok: false, error_code: 401, description: "Unauthorized" })
      const body = raw === "" ? {} : JSON.parse(raw)
      if (m[2] === "getUpdates") {
        const offset: number | undefined = body.offset
        offsets.push(offset)
        for (const w of [...pollWaiters]) w()
        const answer = () => {
          const pending = updates.filter((u) => offset === undefined || u.update_id >= offset)
          if (pending.length === 0) return false
          pollers.delete(answer)
          json(res, 200, { ok: true, result: pending })
          return true
        }
        if (answer()) return
        pollers.add(answer)
        const timer = setTimeout(() => {
          pollers.delete(answer)
          json(res, 200, { ok: true, result: [] })
        }, (body.timeout ?? 0) * 1000)
        res.on("close", () => {
          clearTimeout(timer)
          pollers.delete(answer)
        })
        return
      }
      if (m[2] === "sendMessage") {
        const retryAfter = rateLimited.shift()
        if (retryAfter !== undefined) {
          return json(res, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } })
        }
        sent.push({ chat_id: body.chat_id, text: body.text })
        for (const w of [...sendWaiters]) w()
        return json(res, 200, { ok: true, result: { message_id: sent.length, chat: { id: body.chat_id, type: "private" }, date: 0, text: body.text } })
      }
      json(res, 404, { ok: false, error_code: 404, description: "Not Found: method not found" })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    sent,
    offsets,
    /** Queues a private text message from `userId`; returns its update id. */
    deliver: (userId: number, text: string) => {
      const update_id = nextUpdateId++
      updates.push({
        update_id,
        message: { message_id: update_id, from: { id: userId, is_bot: false, first_name: "U" }, chat: { id: userId, type: "private", first_name: "U" }, date: 0, text }
      } as { update_id: number })
      for (const p of [...pollers]) p()
      return update_id
    },
    /** The next `n` sendMessage calls answer 429 with this retry_after. */
    rateLimitSends: (retryAfter: number, n = 1) => {
      rateLimited = [...rateLimited, ...Array.from({ length: n }, () => retryAfter)]
    },
    /** Waits until at least `n` messages have been sent. */
    sentCount: (n: number) =>
      Effect.promise(() =>
        new Promise<ReadonlyArray<SentMessage>>((resolve) => {
          const check = () => {
            if (sent.length < n) return
            sendWaiters.delete(check)
            resolve(sent)
          }
          sendWaiters.add(check)
          check()
        })
      ),
    /** Waits until a getUpdates call asks for `offset` (every update below it has been read). */
    polledFrom: (offset: number) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (!offsets.includes(offset)) return
            pollWaiters.delete(check)
            resolve()
          }
          pollWaiters.add(check)
          check()
        })
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
