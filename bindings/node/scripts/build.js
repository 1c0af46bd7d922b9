#!/usr/bin/env node
'use strict'
// Builds the native core from source with cargo and puts it at kafkit.node, which the loader
// (lib/native.js) prefers to a prebuilt platform package. Runs as `npm run build` in a checkout
// (never on install: the published package needs no Rust toolchain). cargo's progress goes to
// the terminal as it builds. KAFKIT_NODE_PROFILE=debug builds the debug profile (the test suite
// uses it to share the workspace's build); the default is release.

const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const pkg = path.join(__dirname, '..')
const profile = process.env.KAFKIT_NODE_PROFILE === 'debug' ? 'debug' : 'release'
const cargo = process.env.CARGO || 'cargo'
const args = ['build', '-p', 'kafkit-node', '--message-format=json-render-diagnostics']
if (profile === 'release') args.push('--release')
if (process.env.KAFKIT_NODE_LOCKED !== '0') args.push('--locked')

console.error(`kafkit: building the native core (cargo ${args.join(' ')}); the first build takes a few minutes`)
const r = spawnSync(cargo, args, { cwd: pkg, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 })
if (r.error) {
  console.error(`kafkit: cargo could not be started (${r.error.message}): install Rust from https://rustup.rs, then run npm run build again`)
  process.exit(1)
}
if (r.status !== 0) {
  console.error('kafkit: the native core did not build (cargo failed, above)')
  process.exit(r.status || 1)
}
// The library cargo built, as its JSON messages name it.
let lib
for (const line of r.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  const m = JSON.parse(line)
  if (m.reason === 'compiler-artifact' && m.target && m.target.name === 'kafkit_node') {
    lib = m.filenames.find(f => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!lib) {
  console.error('kafkit: cargo built no kafkit_node library')
  process.exit(1)
}
const out = path.join(pkg, 'kafkit.node')
fs.copyFileSync(lib, out + '.tmp')
fs.renameSync(out + '.tmp', out)
console.error(`kafkit: native core ready (${profile}): ${out}`)
