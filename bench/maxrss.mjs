// Preloaded into a benchmark's child process (node --import ./bench/maxrss.mjs …): prints the
// process's peak resident set (getrusage's maxrss, every thread's pages) on stderr as it exits.
process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS * 1024}\n`));
