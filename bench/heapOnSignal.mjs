// Preloaded (with --expose-gc) by bench/heapPerConnection.ts: SIGUSR2 runs two full GCs and writes the
// heap and RSS after them as one line, so the harness reads live memory, not garbage V8 has yet to collect.
process.on("SIGUSR2", () => {
  globalThis.gc?.()
  globalThis.gc?.()
  const m = process.memoryUsage()
  process.stderr.write(`bench: heap ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed })}\n`)
})
