import { execFileSync, spawnSync } from "node:child_process"

/** Why namespaces cannot be made here, or undefined when they can (root and iproute2). */
export const netnsUnavailable = (): string | undefined => {
  if (process.getuid?.() !== 0) return "network namespaces need root"
  const probe = spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
  return probe.status === 0 ? undefined : `ip netns is unavailable: ${probe.stderr || probe.error?.message}`
}

export interface NetnsPair {
  readonly gateway: string
  readonly client: string
  readonly gatewayIp: string
  readonly clientIp: string
  readonly down: () => void
}

/** Two namespaces joined by a veth pair on a /30, each with loopback up. */
export const netnsPair = (tag: string): NetnsPair => {
  const gateway = `gh-gw-${tag}`
  const client = `gh-cl-${tag}`
  const octet = 16 + (process.pid % 200)
  const gatewayIp = `10.231.${octet}.1`
  const clientIp = `10.231.${octet}.2`
  const ip = (...args: Array<string>) => execFileSync("ip", args, { stdio: "pipe" })
  const down = () => {
    for (const ns of [gateway, client]) spawnSync("ip", ["netns", "delete", ns])
  }
  down()
  ip("netns", "add", gateway)
  ip("netns", "add", client)
  ip("link", "add", `veth-g${tag}`.slice(0, 15), "netns", gateway, "type", "veth", "peer", "name", `veth-c${tag}`.slice(0, 15), "netns", client)
  ip("-n", gateway, "addr", "add", `${gatewayIp}/30`, "dev", `veth-g${tag}`.slice(0, 15))
  ip("-n", client, "addr", "add", `${clientIp}/30`, "dev", `veth-c${tag}`.slice(0, 15))
  for (const [ns, dev] of [[gateway, `veth-g${tag}`.slice(0, 15)], [client, `veth-c${tag}`.slice(0, 15)]] as const) {
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "link", "set", dev, "up")
  }
  return { gateway, client, gatewayIp, clientIp, down }
}
