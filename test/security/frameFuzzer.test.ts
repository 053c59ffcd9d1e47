import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { connect as tcpConnect } from "node:net"
import { WebSocket } from "ws"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"

// A frame fuzzer against a real gateway port, bounded in time and seedable:
//   GATEHOUSE_FUZZ_SEED=<n> GATEHOUSE_FUZZ_MS=<ms> CI=true npx vitest run test/security/frameFuzzer.test.ts
// Random bytes, random JSON, deep nesting, huge strings, many keys, `__proto__` keys, invalid UTF-8 and
// binary frames, sent before and after auth: every socket is answered or closed, the process keeps its
// memory, and another client's `health` keeps answering quickly throughout. The fuzzing clients share
// this process's event loop with the gateway, so the watcher's latency is an upper bound.

const SEED = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Date.now() % 2 ** 31)
const BUDGET_MS = Number(process.env.GATEHOUSE_FUZZ_MS ?? 4_000)

// mulberry32: small, fast, and the same sequence for the same seed.
const rng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Payload = { readonly data: Buffer | string; readonly binary: boolean }

const generators = (r: () => number) => {
  const int = (n: number) => Math.floor(r() * n)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)]!
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
  const nastyKeys = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", "\u0000", "\u202e"]
  const value = (depth: number): unknown => {
    switch (depth <= 0 ? int(4) : int(7)) {
      case 0: return int(2) === 0 ? null : r() < 0.5
      case 1: return pick([0, -1, 1e308, -0, 2 ** 53 + 1, r() * 1e6])
      case 2: return pick(["", "x", "\u0000\u001b[2J\r\nforged=1", "\ud800", "é".repeat(int(100)), "a".repeat(int(5000))])
      case 3: return pick(nastyKeys)
      case 4: return Array.from({ length: int(5) }, () => value(depth - 1))
      default: {
        const o: Record<string, unknown> = {}
        for (let i = int(5); i > 0; i--) Object.defineProperty(o, int(2) === 0 ? pick(nastyKeys) : `k${int(50)}`, { value: value(depth - 1), enumerable: true, configurable: true, writable: true })
        return o
      }
    }
  }
  const frameLike = (): unknown => ({
    type: pick(["req", "res", "event", "__proto__", 1, null]),
    id: pick(["a", 1, null, "__proto__", "x".repeat(300)]),
    method: pick(["health", "connect", "__proto__", "constructor", "toString", "config.get", "node.invoke", "x".repeat(int(2000))]),
    params: value(3),
    ...(int(3) === 0 ? JSON.parse(`{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}`) : {})
  })
  return (postAuth: boolean): Payload => {
    const cap = postAuth ? 512 * 1024 : 60 * 1024
    switch (int(10)) {
      case 0: return { data: bytes(1 + int(4096)), binary: true }
      case 1: return { data: bytes(1 + int(4096)), binary: false } // text frame with invalid UTF-8
      case 2: return { data: JSON.stringify(value(5)), binary: false }
      case 3: {
        const n = 1 + int(Math.floor(cap / 2) - 1)
        return { data: pick(["[", "{\"a\":"]).repeat(n), binary: false } // deep, unterminated nesting
      }
      case 4: {
        const n = 1 + int(Math.floor(cap / 2) - 1)
        return { data: "[".repeat(n) + "]".repeat(n), binary: false }
      }
      case 5: return { data: JSON.stringify({ type: "req", id: "h", method: "health", params: { s: "x".repeat(int(cap)) } }), binary: false }
      case 6: {
        const o: Record<string, number> = {}
        for (let i = int(Math.min(Math.floor(cap / 12), 12_000)); i > 0; i--) o[`k${i}`] = i
        return { data: JSON.stringify({ type: "req", id: "k", method: "health", params: o }), binary: false }
      }
      case 7: return { data: JSON.stringify(frameLike()).replace("\"type\"", "\"__proto__\":{\"type\":\"req\"},\"type\""), binary: false }
      case 8: return { data: JSON.stringify(frameLike()), binary: false }
      default: return { data: pick(["", " ", "null", "[]", "{}", "\"str\"", "1e999999", "{\"type\":\"req\"}"]), binary: false }
    }
  }
}

interface Peer {
  readonly ws: WebSocket
  readonly frames: Array<Record<string, any>>
  readonly closed: Promise<number>
  readonly waitFor: (p: (f: Record<string, any>) => boolean, ms: number) => Promise<Record<string, any> | "closed" | "timeout">
}

const open = (url: string) =>
  new Promise<Peer>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
    const frames: Array<Record<string, any>> = []
    const listeners = new Set<() => void>()
    let isClosed = false
    const closed = new Promise<number>((done) => ws.once("close", (code) => {
      isClosed = true
      done(code)
      for (const l of listeners) l()
    }))
    ws.on("message", (data) => {
      try {
        frames.push(JSON.parse(String(data)))
      } catch {
        frames.push({ unparsable: true })
      }
      for (const l of listeners) l()
    })
    ws.on("error", () => {})
    const waitFor: Peer["waitFor"] = (p, ms) =>
      new Promise((done) => {
        const check = () => {
          const hit = frames.find(p)
          if (hit !== undefined) return finish(hit)
          if (isClosed) return finish("closed")
        }
        const finish = (v: Record<string, any> | "closed" | "timeout") => {
          listeners.delete(check)
          clearTimeout(timer)
          done(v)
        }
        const timer = setTimeout(() => finish("timeout"), ms)
        listeners.add(check)
        check()
      })
    ws.once("open", () => resolve({ ws, frames, closed, waitFor }))
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    ws.once("error", reject)
  })

const connectFrame = (scopes: ReadonlyArray<string>) => JSON.stringify({
  type: "req",
  id: "c",
  method: "connect",
  params: {
    minProtocol: 3,
    maxProtocol: 4,
    client: { id: "cli", version: "1", platform: "linux", mode: "cli" },
    auth: { token: TEST_TOKEN },
    role: "operator",
    scopes
  }
})

const authed = async (url: string, scopes: ReadonlyArray<string> = ["operator.read"]) => {
  const peer = await open(url)
  await peer.waitFor((f) => f.event === "connect.challenge", 5_000)
  peer.ws.send(connectFrame(scopes))
  const hello = await peer.waitFor((f) => f.id === "c", 5_000)
  if (typeof hello === "string" || hello.ok !== true) throw new Error(`connect failed: ${JSON.stringify(hello)}`)
  return peer
}

const gateway = (config: unknown = {}) =>
  Layer.build(serverLayer({}, homeWithConfig(config))).pipe(Effect.map(Context.get(GatewayServer)), Effect.map((s) => `ws://127.0.0.1:${s.port}`))

const metric = async (url: string, name: string) => {
  const text = await (await fetch(url.replace(/^ws/, "http") + "/metrics")).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

describe("frame fuzzer and slow clients", () => {
  it.live("random frames before and after auth never crash the gateway or slow down another client", () =>
    Effect.gen(function*() {
      const url = yield* gateway()
      yield* Effect.promise(async () => {
        const next = generators(rng(SEED))
        const watcher = await authed(url)
        let worstHealthMs = 0
        let healthChecks = 0
        let stop = false
        const watch = (async () => {
          for (let i = 0; !stop; i++) {
            const started = Date.now()
            watcher.ws.send(JSON.stringify({ type: "req", id: `w${i}`, method: "health" }))
            const r = await watcher.waitFor((f) => f.id === `w${i}`, 5_000)
            assert.notStrictEqual(r, "timeout", "the watcher's health went unanswered for 5 s")
            assert.notStrictEqual(r, "closed", "the watcher was disconnected")
            worstHealthMs = Math.max(worstHealthMs, Date.now() - started)
            healthChecks++
            await new Promise((d) => setTimeout(d, 50))
          }
        })()
        const heapBefore = process.memoryUsage().heapUsed
        const deadline = Date.now() + BUDGET_MS
        let cases = 0
        const worker = async () => {
          while (Date.now() < deadline) {
            const postAuth = cases++ % 2 === 1
            const peer = postAuth ? await authed(url, ["operator.read"]) : await open(url)
            if (!postAuth) await peer.waitFor((f) => f.event === "connect.challenge", 5_000)
            const sent = 1 + (cases % 3)
            for (let i = 0; i < sent && peer.ws.readyState === WebSocket.OPEN; i++) {
              const p = next(postAuth)
              peer.ws.send(p.data, { binary: p.binary })
            }
            if (postAuth && peer.ws.readyState === WebSocket.OPEN) {
              // The server must still answer this connection, or have closed it; it may never just stall.
              peer.ws.send(JSON.stringify({ type: "req", id: "probe", method: "health" }))
              const r = await peer.waitFor((f) => f.id === "probe", 5_000)
              assert.notStrictEqual(r, "timeout", `post-auth connection stalled (seed ${SEED}, case ${cases})`)
            } else if (!postAuth) {
              // Before auth, anything but a valid connect is refused and the socket closed promptly.
              const r = await Promise.race([peer.closed.then(() => "closed"), new Promise((d) => setTimeout(() => d("timeout"), 5_000))])
              assert.strictEqual(r, "closed", `pre-auth garbage did not close the socket (seed ${SEED}, case ${cases})`)
            }
            peer.ws.terminate()
          }
        }
        await Promise.all([worker(), worker(), worker(), worker()])
        stop = true
        await watch
        watcher.ws.close()
        const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20
        console.log(`fuzzer seed ${SEED}: ${cases} connections in ${BUDGET_MS} ms; watcher health ${healthChecks}x, worst ${worstHealthMs} ms; heap +${grownMb.toFixed(1)} MiB`)
        assert.isAbove(cases, 8)
        assert.isAbove(healthChecks, 5)
        assert.isBelow(worstHealthMs, 2_000)
        assert.isBelow(grownMb, 200)
        // Still serving afterwards.
        const after = await authed(url)
        after.ws.close()
      })
    }).pipe(Effect.scoped), 60_000)

  it.live("an object with 170,000 keys is refused before any schema walks it (it held the event loop for seconds)", () =>
    Effect.gen(function*() {
      const url = yield* gateway()
      yield* Effect.promise(async () => {
        const peer = await authed(url)
        const wide: Record<string, unknown> = {}
        for (let i = 0; i < 170_000; i++) wide[`k${i}`] = i
        peer.ws.send(JSON.stringify({ type: "req", id: "p", method: "health", params: wide }))
        peer.ws.send(JSON.stringify({ type: "req", id: "t", method: "health", ...wide }))
        for (const id of ["p", "t"]) {
          const r = await peer.waitFor((f) => f.type === "res" && f.ok === false && f.id === id, 10_000)
          assert.notStrictEqual(typeof r, "string", `no answer to the wide frame ${id}`)
          if (typeof r === "string") return
          assert.include(r.error.message, "more than 4096 keys")
          assert.isBelow(JSON.stringify(r).length, 400, "the error reply stays small")
        }
        peer.ws.close()
      })
    }).pipe(Effect.scoped), 30_000)

  it.live("a client that never reads is dropped once its unsent replies pass the cap, and its socket freed", () =>
    Effect.gen(function*() {
      // A ~1 MiB config makes every config.get reply ~1 MiB, so the send buffer passes its 50 MiB cap quickly.
      const origins = Array.from({ length: 4_000 }, (_, i) => `https://${"o".repeat(240)}${i}.example`)
      const url = yield* gateway({ gateway: { controlUi: { allowedOrigins: origins } } })
      yield* Effect.promise(async () => {
        const before = await metric(url, "gatehouse_connections")
        const hog = await authed(url, ["operator.admin"])
        assert.isAtLeast(await metric(url, "gatehouse_connections"), before + 1)
        const socket = (hog.ws as unknown as { _socket: { pause: () => void } })._socket
        socket.pause()
        for (let i = 0; i < 90; i++) hog.ws.send(JSON.stringify({ type: "req", id: `g${i}`, method: "config.get", params: {} }))
        let now = before + 1
        for (let i = 0; i < 100 && now > before; i++) {
          await new Promise((d) => setTimeout(d, 100))
          now = await metric(url, "gatehouse_connections")
        }
        assert.isAtMost(now, before, "the gateway still holds the connection of a client that never reads")
        const other = await authed(url)
        other.ws.close()
        hog.ws.terminate()
      })
    }).pipe(Effect.scoped), 60_000)

  it.live("a client that sends its first frame one byte a second is cut at the handshake timeout", () =>
    Effect.gen(function*() {
      const url = yield* gateway()
      yield* Effect.promise(async () => {
        const peer = await open(url)
        await peer.waitFor((f) => f.event === "connect.challenge", 5_000)
        // Reach under the client: write a frame header announcing 100 bytes, then dribble them.
        const raw = (peer.ws as unknown as { _socket: import("node:net").Socket })._socket
        raw.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4]))
        const started = Date.now()
        const dribble = setInterval(() => raw.writable && raw.write(Buffer.from([0x41])), 1_000)
        const code = await Promise.race([peer.closed, new Promise<number>((d) => setTimeout(() => d(-1), 15_000))])
        clearInterval(dribble)
        assert.notStrictEqual(code, -1, "still open 15 s later")
        assert.isBelow(Date.now() - started, 14_000)
      })
    }).pipe(Effect.scoped), 30_000)

  it.live("a client that sends its upgrade request one byte a second is dropped before it costs a WebSocket", () =>
    Effect.gen(function*() {
      const url = yield* gateway()
      const port = Number(new URL(url).port)
      yield* Effect.promise(() =>
        new Promise<void>((done, fail) => {
          const s = tcpConnect(port, "127.0.0.1")
          const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`)
          let i = 0
          const started = Date.now()
          const dribble = setInterval(() => i < request.length && s.writable && s.write(request.subarray(i, ++i)), 1_000)
          const give = setTimeout(() => fail(new Error("still open 15 s later")), 15_000)
          s.on("error", () => {})
          s.once("close", () => {
            clearInterval(dribble)
            clearTimeout(give)
            assert.isBelow(Date.now() - started, 14_000)
            done()
          })
        })
      )
    }).pipe(Effect.scoped), 30_000)
})
