'use strict'
// The native core: kafkit's Rust client compiled as a Node addon (napi-rs).
//
// The published package carries no native code and needs no Rust toolchain: the core comes
// prebuilt in one small package per platform (`@kafkit/linux-x64-gnu`, ...), listed in
// package.json's optionalDependencies, of which npm installs only the one matching the machine.
// Looked for, in order:
//   1. KAFKIT_NODE_ADDON, a path to a .node file (to test a build by hand);
//   2. a core built from source in this directory (`npm run build` in a checkout: kafkit.node,
//      or kafkit.<platform>.node from `napi build --platform`);
//   3. the platform package `@kafkit/<platform>`.
// Where none is found, the error names the supported platforms and how to build from source.

const fs = require('fs')
const path = require('path')
const { PLATFORMS, platformName } = require('./platforms')

function loadNative() {
  const tried = []
  const attempt = file => {
    try {
      return require(file)
    } catch (e) {
      // Not there is expected (the next place is tried); there but not loadable is reported.
      const missing = e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(file)
      tried.push(missing ? `${file}: not found` : `${file}: ${e.message}`)
      return null
    }
  }
  if (process.env.KAFKIT_NODE_ADDON) {
    const file = path.resolve(process.env.KAFKIT_NODE_ADDON)
    const m = attempt(file)
    if (m) return m
    throw new Error(`kafkit: KAFKIT_NODE_ADDON=${file} could not be loaded (${tried[0]})`)
  }
  const platform = platformName()
  const root = path.join(__dirname, '..')
  for (const file of [path.join(root, 'kafkit.node'), path.join(root, `kafkit.${platform}.node`)]) {
    if (fs.existsSync(file)) {
      const m = attempt(file)
      if (m) return m
    }
  }
  if (PLATFORMS[platform]) {
    const m = attempt(`@kafkit/${platform}`)
    if (m) return m
  }
  const supported = Object.entries(PLATFORMS)
    .map(([p, target]) => `  ${p} (@kafkit/${p}, Rust target ${target})`)
    .join('\n')
  throw new Error(
    `kafkit: no native core for this platform (${platform}, Node ${process.version}).\n` +
      (PLATFORMS[platform]
        ? `Its prebuilt package @kafkit/${platform} is not installed or did not load: reinstall without ` +
          '--no-optional / --omit=optional, and check that the lock file was not made on another platform ' +
          '(npm installs only the optional dependency that matches the machine that resolves it).\n'
        : 'No prebuilt core is published for it.\n') +
      `Prebuilt cores exist for:\n${supported}\n` +
      'Elsewhere, build the core from source: with Rust (https://rustup.rs) and a checkout of kafkit, run ' +
      '`npm run build` in its bindings/node directory (cargo prints its progress; a few minutes), then ' +
      'install that directory (`npm install /path/to/kafkit/bindings/node`), or point KAFKIT_NODE_ADDON at ' +
      'the kafkit.node it made.\n' +
      `Tried:\n  ${tried.join('\n  ') || '(nothing)'}`
  )
}

module.exports = loadNative()
