#!/usr/bin/env node
// The `callroom` command. Runs the TypeScript sources directly with Node 24's type stripping;
// under npm scripts and npx the project's pinned Node 24 (the `node` package) is first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`callroom needs Node.js 24 (found ${process.version}); run it through npm (npm start / npx callroom) to use the pinned runtime`);
  process.exit(1);
}
const { runCli } = await import('../src/cli/cli.ts');
const code = await runCli(process.argv.slice(2));
process.exit(code);
