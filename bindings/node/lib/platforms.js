'use strict'
// The platforms with a prebuilt native core: Node's process.platform-process.arch[-abi] -> the
// Rust target it is built for. Each has its npm package @kafkit/<platform> (npm/<platform>/),
// an optional dependency of this package. Keep in step with package.json (optionalDependencies,
// napi.targets), npm/ and the release workflow (.github/workflows/release.yml);
// scripts/check-versions.js checks that they agree.

const fs = require('fs')

const PLATFORMS = {
  'linux-x64-gnu': 'x86_64-unknown-linux-gnu',
  'linux-x64-musl': 'x86_64-unknown-linux-musl',
  'linux-arm64-gnu': 'aarch64-unknown-linux-gnu',
  'darwin-arm64': 'aarch64-apple-darwin',
  'darwin-x64': 'x86_64-apple-darwin',
  'win32-x64-msvc': 'x86_64-pc-windows-msvc',
}

// glibc or musl (Alpine): the ways napi-rs's own loader tells them apart.
function isMusl() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {}
  try {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null
    if (report && report.header && report.header.glibcVersionRuntime) return false
    if (report && Array.isArray(report.sharedObjects)) {
      return report.sharedObjects.some(f => f.includes('libc.musl-') || f.includes('ld-musl-'))
    }
  } catch {}
  return false
}

// This machine's platform name (a key of PLATFORMS when a prebuilt core exists for it).
function platformName(platform = process.platform, arch = process.arch) {
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { PLATFORMS, platformName, isMusl }
