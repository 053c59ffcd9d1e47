import * as Effect from "effect/Effect"

export type Frame = Record<string, any>

/** Reads frames from `take`; frames skipped by `nextMatching` stay available for later reads. */
export const heldReader = <E>(take: Effect.Effect<Frame, E>) => {
  const held: Array<Frame> = []
  const next = Effect.suspend(() => (held.length > 0 ? Effect.succeed(held.shift()!) : take))
  const nextMatching = (p: (f: Frame) => boolean) =>
    Effect.gen(function*() {
      const i = held.findIndex(p)
      if (i >= 0) return held.splice(i, 1)[0]!
      while (true) {
        const f = yield* take
        if (p(f)) return f
        held.push(f)
      }
    })
  return { next, nextMatching }
}
