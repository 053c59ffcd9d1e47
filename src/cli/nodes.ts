/**
 * `gatehouse nodes …` and `gatehouse node run`: list and describe nodes, approve
 * their command surfaces, and invoke their commands.
 */
import { printable } from "../text/printable.ts"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import { randomUUID } from "node:crypto"
import { ConfigError } from "../config/errors.ts"
import { NodeDescribe, NodeInvoke, NodeList, NodePairApprove, NodePairList, NodePairReject, NodePairRemove, NodeRename } from "../protocol/rpcs/nodes.ts"
import { callMethod, target, withTransport } from "./clientCommands.ts"
import { nodeRun } from "./nodeRun.ts"
import { printJson, reportFailures } from "./output.ts"
import { targetFlags } from "./targetFlags.ts"
import { resolveNodeRef } from "../nodes/nodeRef.ts"

type Flags = Parameters<typeof target>[0] & { readonly timeout: number }

const listNodes = (flags: Flags) => Effect.map(callMethod(flags, NodeList, {}), (p) => p.nodes)

/** Finds a node by id, display name or id prefix; an ambiguous reference is refused with the candidates. */
const findNode = (flags: Flags, ref: string) =>
  Effect.flatMap(listNodes(flags), (nodes) => {
    const resolved = resolveNodeRef(nodes, ref)
    switch (resolved._tag) {
      case "Found":
        return Effect.succeed(resolved.node)
      case "NotFound":
        return Effect.fail(new ConfigError({ reason: "invalid", message: `no node "${ref}"; run \`gatehouse nodes list\`` }))
      case "Ambiguous":
        return Effect.fail(new ConfigError({
          reason: "invalid",
          message: `"${ref}" could mean ${resolved.candidates.length} nodes; use the full id of one of them:\n` +
            resolved.candidates.map((n) => `  ${n.nodeId}  ${printable(n.displayName ?? "-", 64)}`).join("\n")
        }))
    }
  })

const short = (id: string) => `${id.slice(0, 12)}…`

const CONNECT_TIMEOUT_MS = 10_000
const { timeout: _connectTimeout, ...invokeTargetFlags } = targetFlags

const list = Command.make("list", targetFlags, (flags) =>
  reportFailures(Effect.gen(function*() {
    const nodes = yield* listNodes(flags)
    if (flags.json) return yield* printJson({ nodes })
    if (nodes.length === 0) return yield* Console.log("No nodes. Start one with `gatehouse node run`.")
    const connected = nodes.filter((n) => n.connected).length
    yield* Console.log([
      `Known: ${nodes.length} · Paired: ${nodes.filter((n) => n.paired).length} · Connected: ${connected}`,
      ...nodes.map((n) =>
        `  ${short(n.nodeId)}  ${printable(n.displayName ?? "-", 64).padEnd(16)} ${printable(n.platform ?? "?", 32).padEnd(8)} ${n.connected ? "connected" : "offline  "} ` +
        `${n.paired ? "paired" : "unpaired"}  ${n.invokableCommands.length > 0 ? n.invokableCommands.join(",") : "(no invokable commands)"}` +
        (n.pendingRequestId === undefined ? "" : `  pending: gatehouse nodes approve ${n.pendingRequestId}`)
      )
    ].join("\n"))
  }), flags.json)).pipe(withTransport, Command.withDescription("List paired and connected nodes"))

const pending = Command.make("pending", targetFlags, (flags) =>
  reportFailures(Effect.gen(function*() {
    const listing = yield* callMethod(flags, NodePairList, {})
    if (flags.json) return yield* printJson(listing)
    if (listing.pending.length === 0) return yield* Console.log("No pending node pairing requests.")
    yield* Console.log(listing.pending.map((p) =>
      `${p.requestId}  ${short(p.nodeId)}  ${printable(p.displayName ?? p.clientId ?? "-", 64)}  commands: ${printable(p.commands.join(","), 512) || "-"}  needs: ${p.requiredApproveScopes.join("+")}`
    ).join("\n") + "\nApprove with: gatehouse nodes approve <requestId>")
  }), flags.json)).pipe(withTransport, Command.withDescription("List pending node pairing requests"))

const approve = Command.make("approve", { ...targetFlags, requestId: Argument.String("requestId") }, (flags) =>
  reportFailures(Effect.gen(function*() {
    const result = yield* callMethod(flags, NodePairApprove, { requestId: flags.requestId })
    if (flags.json) return yield* printJson(result)
    yield* Console.log(`Approved node ${result.node.nodeId} with commands ${result.node.commands.join(", ") || "(none)"}`)
  }), flags.json)).pipe(withTransport, Command.withDescription("Approve a node's command surface"))

const reject = Command.make("reject", { ...targetFlags, requestId: Argument.String("requestId") }, (flags) =>
  reportFailures(Effect.gen(function*() {
    const result = yield* callMethod(flags, NodePairReject, { requestId: flags.requestId })
    if (flags.json) return yield* printJson(result)
    yield* Console.log(`Rejected ${flags.requestId}`)
  }), flags.json)).pipe(withTransport, Command.withDescription("Reject a node pairing request"))

const describe = Command.make("describe", { ...targetFlags, node: Argument.String("node") }, (flags) =>
  reportFailures(Effect.gen(function*() {
    const node = yield* findNode(flags, flags.node)
    const described = yield* callMethod(flags, NodeDescribe, { nodeId: node.nodeId })
    yield* printJson(described)
  }), flags.json)).pipe(withTransport, Command.withDescription("Show one node"))

const rename = Command.make(
  "rename",
  { ...targetFlags, node: Argument.String("node").pipe(Argument.withDescription("Node id, id prefix or display name")), name: Argument.String("name") },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const node = yield* findNode(flags, flags.node)
      const result = yield* callMethod(flags, NodeRename, { nodeId: node.nodeId, displayName: flags.name })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Renamed ${short(result.nodeId)} to "${flags.name}"`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Give a paired node a display name"))

const remove = Command.make(
  "remove",
  { ...targetFlags, node: Argument.String("node").pipe(Argument.withDescription("Node id, id prefix or display name")) },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const node = yield* findNode(flags, flags.node)
      const result = yield* callMethod(flags, NodePairRemove, { nodeId: node.nodeId })
      if (flags.json) return yield* printJson(result)
      yield* Console.log(`Removed ${short(result.nodeId)}: its approved commands and node token are gone, and it was disconnected`)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Forget a node: its approved commands and node token; it is disconnected"))

const invoke = Command.make(
  "invoke",
  {
    ...invokeTargetFlags,
    timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds the node has to answer"), Flag.withDefault(30_000)),
    node: Argument.String("node").pipe(Argument.withDescription("Node id, id prefix or display name")),
    command: Argument.String("command").pipe(Argument.withDescription("e.g. system.which, system.run")),
    params: Flag.String("params").pipe(Flag.withDescription("Command params as a JSON object"), Flag.withDefault("{}"))
  },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const params = Result.try(() => JSON.parse(flags.params) as unknown)
      if (Result.isFailure(params) || typeof params.success !== "object" || params.success === null || Array.isArray(params.success)) {
        return yield* new ConfigError({ reason: "invalid", message: `--params must be a JSON object, e.g. --params '{"name":"sh"}'` })
      }
      const connection = { ...flags, timeout: CONNECT_TIMEOUT_MS }
      const node = yield* findNode(connection, flags.node)
      const result = yield* callMethod(connection, NodeInvoke, {
        nodeId: node.nodeId,
        command: flags.command,
        params: params.success,
        timeoutMs: flags.timeout,
        idempotencyKey: randomUUID()
      }, flags.timeout + CONNECT_TIMEOUT_MS)
      if (flags.json) return yield* printJson(result)
      // The node's payload is open-ended: read what these two commands are known to answer, print anything else.
      const payload = result.payload
      if (flags.command === "system.run" && Predicate.hasProperty(payload, "stdout") && typeof payload.stdout === "string") {
        yield* Console.log(payload.stdout.replace(/\n$/, ""))
        const stderr = Predicate.hasProperty(payload, "stderr") ? payload.stderr : undefined
        if (typeof stderr === "string" && stderr.length > 0) yield* Console.error(stderr.replace(/\n$/, ""))
        const exitCode = Predicate.hasProperty(payload, "exitCode") ? payload.exitCode : undefined
        if (exitCode !== 0) yield* Effect.sync(() => void (process.exitCode = typeof exitCode === "number" ? exitCode : 1))
        return
      }
      if (flags.command === "system.which" && Predicate.hasProperty(payload, "path")) {
        return yield* Console.log(payload.path === null ? "(not found)" : String(payload.path))
      }
      yield* printJson(result.payload)
    }), flags.json)
).pipe(withTransport, Command.withDescription("Invoke a command on a node"))

export const nodes = Command.make("nodes").pipe(
  Command.withDescription("List, approve and invoke nodes"),
  Command.withSubcommands([list, pending, approve, reject, describe, rename, remove, invoke])
)

export const node = Command.make("node").pipe(
  Command.withDescription("Run this host as a node"),
  Command.withSubcommands([nodeRun])
)
