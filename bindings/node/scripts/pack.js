#!/usr/bin/env node
'use strict'
// Packs the npm packages as they are published: the main package `kafkit` (JavaScript and
// declarations only, no native code, no install script) and, for each prebuilt native core
// given, its platform package `@kafkit/<platform>` holding only that .node file.
//
//   node scripts/pack.js [--out DIR] [--dry-run] [PLATFORM=FILE.node ...]
//
//   node scripts/pack.js --out dist linux-x64-gnu=npm-build/kafkit.linux-x64-gnu.node
//     -> dist/kafkit-0.1.0.tgz, dist/kafkit-linux-x64-gnu-0.1.0.tgz
//
// The main package's optionalDependencies (one per platform of lib/platforms.js, at the
// package's version) are written here, into the staged package.json, the way `napi prepublish`
// does: the checkout's package.json has none, so `npm ci` in a checkout never asks the
// registry for platform packages of a version that may not be published yet. The staged
// package.json has no scripts at all: installing kafkit never runs cargo.
// --dry-run lists what would be packed (npm pack --dry-run) and writes nothing.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { PLATFORMS } = require('../lib/platforms')

const pkgDir = path.join(__dirname, '..')
const args = process.argv.slice(2)
let out = path.join(pkgDir, 'dist')
let dryRun = false
const natives = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = path.resolve(args[++i])
  else if (args[i] === '--dry-run') dryRun = true
  else if (/^[a-z0-9-]+=/.test(args[i])) {
    const [platform, file] = args[i].split(/=(.*)/s)
    if (!PLATFORMS[platform]) fail(`unknown platform ${platform} (known: ${Object.keys(PLATFORMS).join(', ')})`)
    natives.push({ platform, file: path.resolve(file) })
  } else fail(`unknown argument ${args[i]}`)
}

function fail(message) {
  console.error(`pack: ${message}`)
  process.exit(1)
}

const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
const version = pkg.version

// Copies src (a file or a folder; symbolic links are followed) to dst.
function copy(src, dst) {
  const st = fs.statSync(src)
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { recursive: true })
    for (const name of fs.readdirSync(src)) copy(path.join(src, name), path.join(dst, name))
  } else {
    fs.mkdirSync(path.dirname(dst), { recursive: true })
    fs.copyFileSync(src, dst)
  }
}

function npmPack(dir) {
  const npmArgs = ['pack', '--json', '--loglevel=error']
  if (dryRun) npmArgs.push('--dry-run')
  else npmArgs.push('--pack-destination', out)
  const r = spawnSync('npm', npmArgs, { cwd: dir, encoding: 'utf8', shell: process.platform === 'win32' })
  if (r.status !== 0) fail(`npm pack failed in ${dir}:\n${r.stderr}${r.stdout}`)
  const [info] = JSON.parse(r.stdout)
  const files = info.files.map(f => f.path).sort()
  if (process.env.KAFKIT_PACK_LIST) console.error(files.join('\n'))
  console.error(`pack: ${dryRun ? '(dry run) ' : ''}${info.name}@${info.version}: ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked${dryRun ? '' : ` -> ${path.join(out, info.filename)}`}`)
  return { ...info, files }
}

const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'kafkit-pack-'))
try {
  if (!dryRun) fs.mkdirSync(out, { recursive: true })

  // The main package.
  const main = path.join(staging, 'kafkit')
  for (const f of ['index.js', 'index.d.ts', 'lib', 'LICENSE-MIT', 'LICENSE-APACHE']) copy(path.join(pkgDir, f), path.join(main, f))
  // npm shows the package's README: the Node guide of the repository.
  copy(path.join(pkgDir, '..', '..', 'docs', 'node.md'), path.join(main, 'README.md'))
  const published = {
    name: pkg.name,
    version,
    description: pkg.description,
    main: pkg.main,
    types: pkg.types,
    license: pkg.license,
    keywords: pkg.keywords,
    engines: pkg.engines,
    files: ['index.js', 'index.d.ts', 'lib/', 'LICENSE-MIT', 'LICENSE-APACHE'],
    optionalDependencies: Object.fromEntries(Object.keys(PLATFORMS).map(p => [`@kafkit/${p}`, version])),
  }
  fs.writeFileSync(path.join(main, 'package.json'), JSON.stringify(published, null, 2) + '\n')
  const info = npmPack(main)
  const unexpected = info.files.filter(f => !/^(index\.js|index\.d\.ts|lib\/[a-z-]+\.js|package\.json|README\.md|LICENSE-MIT|LICENSE-APACHE)$/.test(f))
  if (unexpected.length) fail(`the main package would ship unexpected files: ${unexpected.join(', ')}`)

  // One package per prebuilt core.
  for (const { platform, file } of natives) {
    if (!fs.existsSync(file)) fail(`${file} does not exist (build it first: npm run build:napi)`)
    const dir = path.join(staging, platform)
    const template = path.join(pkgDir, 'npm', platform)
    copy(template, dir)
    const platformPkg = JSON.parse(fs.readFileSync(path.join(template, 'package.json'), 'utf8'))
    if (platformPkg.version !== version) fail(`npm/${platform}/package.json has version ${platformPkg.version}, the package ${version}`)
    copy(file, path.join(dir, platformPkg.main))
    const pinfo = npmPack(dir)
    const extra = pinfo.files.filter(f => ![platformPkg.main, 'package.json', 'README.md'].includes(f))
    if (extra.length) fail(`@kafkit/${platform} would ship unexpected files: ${extra.join(', ')}`)
  }
} finally {
  fs.rmSync(staging, { recursive: true, force: true })
}
