// Preloaded into the benchmarked servers (with --expose-gc): SIGUSR2 runs a full GC, so the
// harness can read "RSS after the load has gone" without waiting for V8 to decide. The line
// written after it tells the harness the GC is over (a full GC of a 10k-connection heap takes
// about a second here, longer than any fixed pause would be).
process.on("SIGUSR2", () => {
  globalThis.gc?.()
  process.stderr.write("bench: gc done\n")
})
