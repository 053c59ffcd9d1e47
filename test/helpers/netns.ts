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

export interface MulticastPair extends NetnsPair {
  readonly gatewayDev: string
  readonly clientDev: string
}

/**
 * Two namespaces joined by a veth pair with multicast on and 224.0.0.0/4 routed onto it, on a
 * link-local /24 that exists only inside them: mDNS sent here reaches the other namespace and
 * nothing else. `down` ends the processes still inside (all started by the test) and deletes both.
 */
export const multicastPair = (tag: string): MulticastPair => {
  const gateway = `gh-mg-${tag}`
  const client = `gh-mc-${tag}`
  const octet = 100 + (process.pid % 100)
  const gatewayIp = `169.254.${octet}.1`
  const clientIp = `169.254.${octet}.2`
  const gatewayDev = `mg${tag}`.slice(0, 15)
  const clientDev = `mc${tag}`.slice(0, 15)
  const ip = (...args: Array<string>) => execFileSync("ip", args, { stdio: "pipe" })
  const down = () => {
    for (const ns of [gateway, client]) {
      const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? ""
      for (const pid of pids.split(/\s+/).filter((p) => p.length > 0)) {
        try {
          process.kill(Number(pid), "SIGKILL")
        } catch {
          // already gone
        }
      }
      spawnSync("ip", ["netns", "delete", ns])
    }
  }
  down()
  ip("netns", "add", gateway)
  ip("netns", "add", client)
  ip("link", "add", gatewayDev, "netns", gateway, "type", "veth", "peer", "name", clientDev, "netns", client)
  for (const [ns, dev, address] of [[gateway, gatewayDev, gatewayIp], [client, clientDev, clientIp]] as const) {
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "link", "set", dev, "multicast", "on")
    ip("-n", ns, "addr", "add", `${address}/24`, "dev", dev)
    ip("-n", ns, "link", "set", dev, "up")
    ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
  }
  return { gateway, client, gatewayIp, clientIp, gatewayDev, clientDev, down }
}

/** Why the mDNS peers cannot run here (namespaces, avahi, dbus, python3-zeroconf), or undefined. */
export const mdnsPeersUnavailable = (): string | undefined => {
  const netns = netnsUnavailable()
  if (netns !== undefined) return netns
  for (const bin of ["/usr/sbin/avahi-daemon", "/usr/bin/avahi-browse", "/usr/bin/dbus-daemon"]) {
    if (spawnSync("test", ["-x", bin]).status !== 0) return `${bin} is missing (apt-get install avahi-daemon avahi-utils dbus)`
  }
  const zc = spawnSync("/usr/bin/python3", ["-c", "import zeroconf"], { encoding: "utf8" })
  return zc.status === 0 ? undefined : "Debian's python3-zeroconf is missing (apt-get install python3-zeroconf)"
}
