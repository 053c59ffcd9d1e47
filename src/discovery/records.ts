/**
 * DNS-SD records of a gateway advertisement (`_openclaw-gw._tcp.local`), as pure
 * data: the TXT hints per mode, the PTR/SRV/TXT/A/AAAA set, answers to queries,
 * probes, goodbyes (TTL 0), conflict detection and renaming, and reading a browse
 * result back out of received records. No sockets here: `layers/DiscoveryMdns.ts`
 * moves these records on the wire, tests check them without a network.
 */
import type { Answer as AnyAnswer, OptAnswer, Packet, Question, RecordType, SrvData } from "dns-packet"
import { isIP } from "node:net"

/** A resource record (an EDNS OPT pseudo-record is none). */
export type Answer = Exclude<AnyAnswer, OptAnswer>

/** The DNS-SD service type OpenClaw gateways advertise. */
export const SERVICE_TYPE = "_openclaw-gw._tcp.local"
/** The DNS-SD service-type enumeration name (`avahi-browse -a`, mdns-scan). */
export const SERVICES_ENUMERATION = "_services._dns-sd._udp.local"
/** RFC 6762 §10: host records (SRV, A, AAAA) 120 s, the others 75 min. */
export const HOST_TTL = 120
export const OTHER_TTL = 4500
/** RFC 6762 §6.7: answers to legacy unicast queriers carry at most this TTL. */
export const LEGACY_TTL = 10

export type MdnsMode = "off" | "minimal" | "full"

/** What goes into the TXT hints, before the mode decides which keys appear. */
export interface TxtInput {
  readonly mode: "minimal" | "full"
  readonly displayName: string
  readonly lanHost: string
  readonly gatewayPort: number
  readonly tlsSha256?: string | undefined
  readonly canvasPort?: number | undefined
  readonly tailnetDns?: string | undefined
  readonly sshPort?: number | undefined
  readonly cliPath?: string | undefined
}

/**
 * The TXT hints as OpenClaw documents them. `gatewayTls`/`gatewayTlsSha256` only
 * with a well-formed fingerprint; `sshPort` and `cliPath` only in full mode.
 */
export const txtFor = (input: TxtInput): ReadonlyArray<readonly [string, string]> => {
  const entries: Array<readonly [string, string]> = [
    ["role", "gateway"],
    ["transport", "gateway"],
    ["displayName", input.displayName],
    ["lanHost", input.lanHost],
    ["gatewayPort", String(input.gatewayPort)]
  ]
  const sha = input.tlsSha256?.replace(/:/g, "").toLowerCase()
  if (sha !== undefined && /^[0-9a-f]{64}$/.test(sha)) entries.push(["gatewayTls", "1"], ["gatewayTlsSha256", sha])
  if (input.canvasPort !== undefined && input.canvasPort > 0) entries.push(["canvasPort", String(input.canvasPort)])
  if (input.tailnetDns !== undefined && input.tailnetDns.length > 0) entries.push(["tailnetDns", input.tailnetDns.replace(/\.$/, "")])
  if (input.mode === "full") {
    entries.push(["sshPort", String(input.sshPort ?? 22)])
    if (input.cliPath !== undefined && input.cliPath.length > 0) entries.push(["cliPath", input.cliPath])
  }
  // RFC 6763 §6.1: each string is at most 255 bytes; a longer hint is dropped rather than truncated.
  return entries.filter(([k, v]) => Buffer.byteLength(`${k}=${v}`) <= 255)
}

/** One advertisement: the names and addresses the records are made of. */
export interface Advert {
  /** The instance label, e.g. "box (OpenClaw)". */
  readonly instance: string
  /** The host label, without `.local`. */
  readonly host: string
  readonly port: number
  readonly ipv4: ReadonlyArray<string>
  readonly ipv6: ReadonlyArray<string>
  readonly txt: ReadonlyArray<readonly [string, string]>
}

export const instanceFqdn = (advert: Advert) => `${escapeLabel(advert.instance)}.${SERVICE_TYPE}`
export const hostFqdn = (advert: Advert) => `${advert.host}.local`

/** Every record of `advert`, with `ttl` in place of the standard TTLs when given (0: goodbye). */
export const recordsOf = (advert: Advert, ttl?: number) => {
  const host = hostFqdn(advert)
  const instance = instanceFqdn(advert)
  const hostTtl = ttl ?? HOST_TTL
  const otherTtl = ttl ?? OTHER_TTL
  return {
    ptr: { name: SERVICE_TYPE, type: "PTR", ttl: otherTtl, data: instance } satisfies Answer,
    srv: { name: instance, type: "SRV", ttl: hostTtl, flush: true, data: { priority: 0, weight: 0, port: advert.port, target: host } } satisfies Answer,
    txt: { name: instance, type: "TXT", ttl: otherTtl, flush: true, data: advert.txt.map(([k, v]) => Buffer.from(`${k}=${v}`)) } satisfies Answer,
    addresses: [
      ...advert.ipv4.map((data) => ({ name: host, type: "A", ttl: hostTtl, flush: true, data }) satisfies Answer),
      ...advert.ipv6.map((data) => ({ name: host, type: "AAAA", ttl: hostTtl, flush: true, data }) satisfies Answer)
    ],
    enumeration: { name: SERVICES_ENUMERATION, type: "PTR", ttl: otherTtl, data: SERVICE_TYPE } satisfies Answer
  }
}

/** The unsolicited announcement (RFC 6762 §8.3): every record. */
export const announcement = (advert: Advert): Packet => {
  const r = recordsOf(advert)
  return response([r.ptr, r.srv, r.txt, ...r.addresses, r.enumeration])
}

/** The goodbye (RFC 6762 §10.1): every record with TTL 0. */
export const goodbye = (advert: Advert): Packet => {
  const r = recordsOf(advert, 0)
  return response([r.ptr, r.srv, r.txt, ...r.addresses])
}

/** The probe (RFC 6762 §8.1): ANY questions for our names, our records in the authority section. */
export const probe = (advert: Advert): Packet => {
  const r = recordsOf(advert)
  return {
    type: "query",
    id: 0,
    flags: 0,
    questions: [{ name: instanceFqdn(advert), type: ANY }, { name: hostFqdn(advert), type: ANY }],
    authorities: [r.srv, r.txt, ...r.addresses]
  }
}

/**
 * The answer to a query, or undefined when it asks nothing of ours. `legacy`: the
 * querier is not on port 5353 (RFC 6762 §6.7): short TTLs, no cache-flush bit, its
 * id and questions echoed, sent back to it by unicast. A multicast answer leaves out
 * what the querier already knows (its known answers with at least half our TTL, §7.1)
 * and the records in `recent` (multicast less than a second ago on this link, §6).
 */
export const answerTo = (
  advert: Advert,
  query: Packet,
  legacy: boolean,
  recent: ReadonlySet<string> = new Set()
): Packet | undefined => {
  const r = recordsOf(advert, legacy ? LEGACY_TTL : undefined)
  const answers: Array<Answer> = []
  const additionals: Array<Answer> = []
  const add = (list: Array<Answer>, ...records: ReadonlyArray<Answer>) => {
    for (const record of records) if (!list.includes(record)) list.push(record)
  }
  for (const q of query.questions ?? []) {
    const name = q.name.toLowerCase()
    const asks = (type: string) => q.type === type || q.type === ANY
    if (name === SERVICE_TYPE.toLowerCase() && asks("PTR")) {
      add(answers, r.ptr)
      add(additionals, r.srv, r.txt, ...r.addresses)
    } else if (name === SERVICES_ENUMERATION.toLowerCase() && asks("PTR")) {
      add(answers, r.enumeration)
    } else if (name === instanceFqdn(advert).toLowerCase()) {
      if (asks("SRV")) add(answers, r.srv)
      if (asks("TXT")) add(answers, r.txt)
      if (asks("SRV")) add(additionals, ...r.addresses)
    } else if (name === hostFqdn(advert).toLowerCase()) {
      if (asks("A")) add(answers, ...r.addresses.filter((a) => a.type === "A"))
      if (asks("AAAA")) add(answers, ...r.addresses.filter((a) => a.type === "AAAA"))
    }
  }
  if (!legacy) {
    const known = records(query, "answers")
    const skip = (a: Answer) =>
      recent.has(recordKey(a)) || known.some((k) => recordKey(k) === recordKey(a) && (k.ttl ?? 0) >= (a.ttl ?? 0) / 2)
    for (let i = answers.length - 1; i >= 0; i--) if (skip(answers[i]!)) answers.splice(i, 1)
  }
  if (answers.length === 0) return undefined
  const extra = additionals.filter((a) => !answers.includes(a))
  const strip = (list: ReadonlyArray<Answer>) => (legacy ? list.map((a) => ({ ...a, flush: false }) as Answer) : list)
  return {
    ...response(strip(answers), strip(extra)),
    ...(legacy ? { id: query.id ?? 0, questions: query.questions ?? [] } : {})
  }
}

/** A record's identity: type, name (case-insensitive) and data; TTL and flags aside. */
export const recordKey = (a: Answer) => `${a.type}|${a.name.toLowerCase()}|${dataKey(a)}`

/**
 * Which of our names another responder claims with different data: the instance
 * (its SRV or TXT), the host (an A/AAAA that is not ours), or none.
 */
export const conflictIn = (advert: Advert, packet: Packet): "instance" | "host" | undefined => {
  if (packet.type !== "response") return undefined
  const instance = instanceFqdn(advert).toLowerCase()
  const host = hostFqdn(advert).toLowerCase()
  const ours = recordsOf(advert)
  for (const a of [...records(packet, "answers"), ...records(packet, "additionals")]) {
    const name = a.name.toLowerCase()
    if ((a.ttl ?? 1) === 0) continue
    if (name === instance && a.type === "SRV" && !sameSrv(a.data, ours.srv.data)) return "instance"
    if (name === instance && a.type === "TXT" && txtKey(a.data) !== txtKey(ours.txt.data)) return "instance"
    if (name === host && a.type === "A" && !advert.ipv4.includes(a.data)) return "host"
    if (name === host && a.type === "AAAA" && !advert.ipv6.includes(a.data.toLowerCase())) return "host"
  }
  return undefined
}

/** The n-th name for a base that lost a conflict: "box (OpenClaw) (2)", host "box-2". */
export const renamedInstance = (base: string, n: number) => (n <= 1 ? base : `${base} (${n})`)
export const renamedHost = (base: string, n: number) => (n <= 1 ? base : `${base}-${n}`)

/** The instance label OpenClaw uses: "<name> (OpenClaw)", unless the name already says OpenClaw. */
export const instanceLabel = (displayName: string) => (/openclaw/i.test(displayName) ? displayName : `${displayName} (OpenClaw)`)

/** A DNS host label from a machine name: first label, lowercase letters, digits and dashes. */
export const hostLabel = (machineName: string) => {
  const label = machineName.split(".")[0]!.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63)
  return label.length === 0 ? "openclaw" : label
}

/** Parses TXT strings (`key=value`) into hints; keys without a name are ignored (RFC 6763 §6.4), the first of a key wins. */
export const parseTxt = (data: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const item of Array.isArray(data) ? data : [data]) {
    const text = Buffer.isBuffer(item) ? item.toString("utf8") : typeof item === "string" ? item : ""
    const eq = text.indexOf("=")
    const key = (eq === -1 ? text : text.slice(0, eq)).trim()
    if (key.length === 0 || key in out) continue
    out[key] = eq === -1 ? "" : text.slice(eq + 1)
  }
  return out
}

/** A service found by browsing: its endpoint comes from SRV + A/AAAA, the TXT is hints only. */
export interface BrowsedService {
  readonly instance: string
  readonly hostname: string
  readonly port: number
  readonly addresses: ReadonlyArray<string>
  readonly txt: Readonly<Record<string, string>>
}

/**
 * Resolves every `_openclaw-gw._tcp` instance named by a PTR in `records`: SRV for
 * host and port, A/AAAA of the SRV target for addresses. Instances whose SRV or
 * addresses are missing are left out; records with TTL 0 (goodbyes) remove what
 * they name.
 */
export const resolveBrowse = (records: ReadonlyArray<Answer>): ReadonlyArray<BrowsedService> => {
  const live = new Map<string, Answer>()
  for (const r of records) {
    const key = recordKey(r)
    if ((r.ttl ?? 1) === 0) live.delete(key)
    else live.set(key, r)
  }
  // Indexed by lower-cased name: resolving is linear in the records, however many a peer sends.
  const byName = new Map<string, Array<Answer>>()
  for (const r of live.values()) {
    const name = r.name.toLowerCase()
    const list = byName.get(name)
    if (list === undefined) byName.set(name, [r])
    else list.push(r)
  }
  const named = (name: string) => byName.get(name.toLowerCase()) ?? []
  const out: Array<BrowsedService> = []
  const instances = new Set(named(SERVICE_TYPE).filter((r) => r.type === "PTR").map((r) => String(r.data)))
  for (const fqdn of instances) {
    if (out.length >= MAX_BROWSED_SERVICES) break
    const srv = named(fqdn).find((r): r is Extract<Answer, { type: "SRV" }> => r.type === "SRV")
    if (srv === undefined) continue
    const addresses = named(srv.data.target)
      .filter((r) => r.type === "A" || r.type === "AAAA")
      .map((r) => String(r.data))
      .filter((a) => isIP(a) !== 0)
      .slice(0, 16)
      .sort((a, b) => isIP(a) - isIP(b))
    if (addresses.length === 0) continue
    const txt = named(fqdn).find((r) => r.type === "TXT")
    out.push({
      instance: (fqdn.slice(0, fqdn.length - SERVICE_TYPE.length - 1)),
      hostname: srv.data.target,
      port: srv.data.port,
      addresses,
      txt: txt === undefined ? {} : parseTxt(txt.data)
    })
  }
  return out.sort((a, b) => a.instance.localeCompare(b.instance))
}

/** Services a browse reports at most, and records it keeps while browsing: a LAN peer cannot make it unbounded. */
export const MAX_BROWSED_SERVICES = 64
export const MAX_BROWSE_RECORDS = 2048
/** Instances and hosts asked about again at most per query. */
const MAX_FOLLOW_UPS = 16

/** The questions a browser asks for the service type (PTR), or for what it still misses. */
export const browseQuestions = (missing: { readonly instances: ReadonlyArray<string>; readonly hosts: ReadonlyArray<string> }): Array<Question> => [
  { name: SERVICE_TYPE, type: "PTR" },
  ...missing.instances.slice(0, MAX_FOLLOW_UPS).flatMap((name) => [{ name, type: "SRV" as const }, { name, type: "TXT" as const }]),
  ...missing.hosts.slice(0, MAX_FOLLOW_UPS).flatMap((name) => [{ name, type: "A" as const }, { name, type: "AAAA" as const }])
]

/** What is still unresolved among `records`: instances without SRV, SRV targets without addresses. */
export const missingIn = (records: ReadonlyArray<Answer>) => {
  const names = (type: string) => new Set(records.filter((r) => r.type === type).map((r) => r.name.toLowerCase()))
  const srvNames = names("SRV")
  const addressNames = new Set([...names("A"), ...names("AAAA")])
  const instances = [...new Set(records.filter((r) => r.type === "PTR" && r.name.toLowerCase() === SERVICE_TYPE.toLowerCase()).map((r) => String(r.data)))]
    .filter((i) => !srvNames.has(i.toLowerCase()))
  const hosts = [...new Set(records.filter((r): r is Extract<Answer, { type: "SRV" }> => r.type === "SRV").map((r) => r.data.target))]
    .filter((h) => !addressNames.has(h.toLowerCase()))
  return { instances, hosts }
}

/** Whether an IPv4 source lies in the subnet of an interface address (RFC 6762 §11: answer on-link queriers only). */
export const isOnLink = (source: string, iface: { readonly address: string; readonly netmask: string }) => {
  if (isIP(source) !== 4 || isIP(iface.address) !== 4 || isIP(iface.netmask) !== 4) return false
  const n = (ip: string) => ip.split(".").reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0)
  const mask = n(iface.netmask)
  return ((n(source) & mask) >>> 0) === ((n(iface.address) & mask) >>> 0)
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// dns-packet knows the ANY question type (255) but its typings do not.
const ANY = "ANY" as RecordType

const records = (packet: Packet, key: "answers" | "additionals") => (packet[key] ?? []).filter((a): a is Answer => a.type !== "OPT")

const response = (answers: ReadonlyArray<Answer>, additionals: ReadonlyArray<Answer> = []): Packet => ({
  type: "response",
  id: 0,
  flags: 1 << 10, // AA
  questions: [],
  answers: [...answers],
  additionals: [...additionals]
})

// dns-packet splits names on dots and has no escapes: a dot in an instance label becomes a dash, and a label
// is at most 63 bytes (RFC 1035).
const escapeLabel = (label: string) => {
  let out = label.replace(/\./g, "-")
  while (Buffer.byteLength(out) > 63) out = out.slice(0, -1)
  return out
}

const sameSrv = (a: SrvData, b: SrvData) => a.port === b.port && a.target.toLowerCase() === b.target.toLowerCase()

const txtKey = (data: unknown) =>
  (Array.isArray(data) ? data : [data]).map((d) => (Buffer.isBuffer(d) ? d.toString("hex") : Buffer.from(String(d)).toString("hex"))).join(",")

const dataKey = (r: Answer) =>
  r.type === "SRV" ? `${r.data.port}:${r.data.target.toLowerCase()}` : r.type === "TXT" ? txtKey(r.data) : String(r.data).toLowerCase()
