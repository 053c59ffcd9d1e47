/**
 * Which node a person meant by a reference typed on the command line: an exact
 * node id, a display name, or an id prefix of at least 6 characters. A reference
 * that fits more than one node is refused with the candidates, never guessed:
 * invoking the wrong node can run a command on the wrong machine.
 */

/** What a reference needs to know of a node. */
export interface NodeRefTarget {
  readonly nodeId: string
  readonly displayName?: string | undefined
}

/** The shortest id prefix taken as a reference. */
export const MIN_PREFIX = 6

export type Resolved<N> =
  | { readonly _tag: "Found"; readonly node: N }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Ambiguous"; readonly candidates: ReadonlyArray<N> }

/** Resolves `ref` among `nodes`. */
export const resolveNodeRef = <N extends NodeRefTarget>(nodes: ReadonlyArray<N>, ref: string): Resolved<N> => {
  const exact = nodes.find((n) => n.nodeId === ref)
  if (exact !== undefined) return { _tag: "Found", node: exact }
  const candidates = nodes.filter((n) => n.displayName === ref || (ref.length >= MIN_PREFIX && n.nodeId.startsWith(ref)))
  if (candidates.length === 0) return { _tag: "NotFound" }
  return candidates.length === 1 ? { _tag: "Found", node: candidates[0]! } : { _tag: "Ambiguous", candidates }
}
