import * as Effect from "effect/Effect"
import { DevicePairing } from "../../src/services/DevicePairing.ts"
import { type ConnectOptions, newDevice, signedConnect, type TestDevice } from "./device.ts"
import { connectParams, openMemory, TEST_TOKEN } from "./testGateway.ts"

/** A node connected in memory (direct loopback, so its surface is approved silently unless `remote`). */
export const memoryNode = (o: ConnectOptions & { readonly device?: TestDevice; readonly remote?: boolean } = {}) =>
  Effect.gen(function*() {
    const device = o.device ?? newDevice()
    // A remote node's device is paired with a setup code, so that only its command surface waits.
    const auth = o.remote === true ? { bootstrapToken: (yield* (yield* DevicePairing).createSetupCode("node", [])).token } : { token: TEST_TOKEN }
    const c = yield* openMemory(o.remote === true ? { headers: { "x-forwarded-for": "198.51.100.70" } } : {})
    const challenge = yield* c.next
    yield* c.push({
      type: "req",
      id: "connect",
      method: "connect",
      params: signedConnect(device, challenge.payload, { role: "node", auth, commands: ["system.which", "system.notify"], caps: ["system"], ...o })
    })
    const hello = yield* c.nextMatching((f) => f.id === "connect")
    if (hello.ok !== true) return yield* Effect.die(new Error(`node connect failed: ${JSON.stringify(hello.error)}`))
    let n = 0
    const answer = (request: Record<string, any>, payload: unknown) =>
      c.push({ type: "req", id: `r${n++}`, method: "node.invoke.result", params: { id: request.id, nodeId: request.nodeId, ok: true, payloadJSON: JSON.stringify(payload) } })
    const nextInvoke = c.nextMatching((f) => f.event === "node.invoke.request")
    return { ...c, device, nodeId: device.deviceId, answer, nextInvoke }
  })

/** An operator connected in memory (direct loopback, shared token). */
export const memoryOperator = (scopes: ReadonlyArray<string> = ["operator.admin"]) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    yield* c.next
    yield* c.push({ type: "req", id: "connect", method: "connect", params: connectParams({ scopes, client: { id: "openclaw-tui", version: "t", platform: "linux", mode: "ui" } }) })
    const hello = yield* c.nextMatching((f) => f.id === "connect")
    if (hello.ok !== true) return yield* Effect.die(new Error(`operator connect failed: ${JSON.stringify(hello.error)}`))
    let n = 0
    const send = (method: string, params: unknown = {}) =>
      Effect.gen(function*() {
        const id = `op${n++}`
        yield* c.push({ type: "req", id, method, params })
        return id
      })
    const call = (method: string, params: unknown = {}) =>
      Effect.flatMap(send(method, params), (id) => c.nextMatching((f) => f.id === id))
    return { ...c, send, call }
  })
