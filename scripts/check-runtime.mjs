// Runs first in `npm test`: npm scripts put node_modules/.bin first on PATH, so the pinned
// `node` package (Node 24 LTS) runs the suite even where the system Node is 20.
if (!process.version.startsWith('v24.')) {
  console.error(`callroom: expected the pinned Node 24 runtime, got ${process.version}`);
  process.exit(1);
}
