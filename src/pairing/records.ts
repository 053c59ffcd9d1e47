/**
 * Lookups in records keyed by strings a client or operator chose (device ids,
 * request ids, node ids, setup-code hashes): only own entries count, so a key
 * like `constructor` or `__proto__` finds nothing instead of Object's prototype.
 */

/** The entry `key` of `record`, when `record` itself holds it. */
export const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined
