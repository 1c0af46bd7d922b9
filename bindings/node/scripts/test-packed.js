#!/usr/bin/env node
'use strict'
// Installs the packed npm tarballs (scripts/pack.js) as a user would, in a fresh folder, with no
// Rust toolchain on the PATH and no network, then runs the reference document's first example
// (Basic Configuration: a KIP-848 consumer) with `require('kafkit')` against the broker.
//
//   node scripts/test-packed.js [DIR]     (DIR: the tarballs, default dist/)
//   KAFKIT_BOOTSTRAP=127.0.0.1:9092       the broker (the default)
//
// Checks, in order:
//   1. the main tarball alone installs offline (its optional platform packages are not in the
//      cache: npm skips them) and `require('kafkit')` then fails with the error that lists the
//      supported platforms and how to build from source;
//   2. with this platform's tarball too, the install has no native build (no kafkit.node, no
//      Rust sources, no install script; cargo is not on the PATH) and the platform package
//      holds only its .node file (and its package.json and README);
//   3. the example, read from the document and run with the broker, topic and group of this run
//      substituted, prints a record produced into the topic while it runs.

const { spawnSync, spawn } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { platformName, PLATFORMS } = require('../lib/platforms')

const pkgDir = path.join(__dirname, '..')
const repo = path.join(pkgDir, '..', '..')
const dir = path.resolve(process.argv[2] || path.join(pkgDir, 'dist'))
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version
const platform = platformName()
const mainTgz = path.join(dir, `kafkit-${version}.tgz`)
const platformTgz = path.join(dir, `kafkit-${platform}-${version}.tgz`)
const bootstrap = process.env.KAFKIT_BOOTSTRAP || '127.0.0.1:9092'
const started = Date.now()

function fail(message) {
  console.error(`test-packed: FAILED: ${message}`)
  process.exit(1)
}
function step(message) {
  console.error(`test-packed: ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

for (const f of [mainTgz, platformTgz]) {
  if (!fs.existsSync(f)) fail(`${f} is missing: pack first (node scripts/pack.js ${platform}=<the built .node>)`)
}
if (!PLATFORMS[platform]) fail(`no prebuilt platform package for ${platform}`)

// The PATH without any folder that holds cargo or rustc (~/.cargo/bin): a user without Rust.
const exe = process.platform === 'win32' ? '.exe' : ''
const PATH = (process.env.PATH || '')
  .split(path.delimiter)
  .filter(d => d && !['cargo', 'rustc', 'rustup'].some(t => fs.existsSync(path.join(d, t + exe))))
  .join(path.delimiter)
// No network: npm works offline from its cache, and its registry is an address nothing listens on.
const env = {
  ...process.env,
  PATH,
  CARGO: '/nonexistent/cargo',
  npm_config_offline: 'true',
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
}
delete env.KAFKIT_NODE_ADDON
{
  const which = spawnSync(process.platform === 'win32' ? 'where' : 'sh', process.platform === 'win32' ? ['cargo'] : ['-c', 'command -v cargo'], { env, encoding: 'utf8' })
  if (which.status === 0) fail(`cargo is still on the PATH (${which.stdout.trim()})`)
}

const app = fs.mkdtempSync(path.join(os.tmpdir(), 'kafkit-packed-'))
const npm = (...args) => {
  const r = spawnSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env, encoding: 'utf8', shell: process.platform === 'win32' })
  if (r.status !== 0) fail(`npm ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`)
  return r
}
const node = (code, opts = {}) => spawnSync(process.execPath, ['-e', code], { cwd: app, env, encoding: 'utf8', ...opts })

try {
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'kafkit-packed-test', version: '1.0.0', private: true }, null, 2))

  // 1. The main package alone: no native core, and the error says what to do.
  npm('install', mainTgz)
  const installed = path.join(app, 'node_modules', 'kafkit')
  const lone = node("require('kafkit')")
  if (lone.status === 0) fail('require(\'kafkit\') worked without a platform package')
  for (const want of ['no native core for this platform', ...Object.keys(PLATFORMS), 'npm run build', 'rustup.rs']) {
    if (!lone.stderr.includes(want)) fail(`the error without a platform package does not say "${want}":\n${lone.stderr}`)
  }
  step('main package alone: installed offline; require(\'kafkit\') names the supported platforms and the source build')

  // 2. With the platform package.
  npm('install', mainTgz, platformTgz)
  const nativeDir = path.join(app, 'node_modules', '@kafkit', platform)
  const nativeFiles = fs.readdirSync(nativeDir).sort()
  const allowed = [`kafkit.${platform}.node`, 'package.json', 'README.md']
  if (!nativeFiles.includes(`kafkit.${platform}.node`) || nativeFiles.some(f => !allowed.includes(f))) {
    fail(`@kafkit/${platform} holds ${nativeFiles.join(', ')}`)
  }
  const mainPkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))
  if (mainPkg.scripts) fail(`the installed package has scripts: ${JSON.stringify(mainPkg.scripts)}`)
  for (const f of ['kafkit.node', 'src', 'Cargo.toml', 'build.rs', 'scripts']) {
    if (fs.existsSync(path.join(installed, f))) fail(`the installed package has ${f}`)
  }
  const loaded = node("const k = require('kafkit'); if (typeof k.Kafka !== 'function') throw new Error('no Kafka'); console.log(require.resolve('@kafkit/" + platform + "'))")
  if (loaded.status !== 0) fail(`require('kafkit') failed:\n${loaded.stderr}`)
  step(`installed offline with @kafkit/${platform} (${nativeFiles.join(', ')}); no cargo on the PATH; require('kafkit') loads it`)

  // 3. The reference document's first example, against the broker.
  const shared = path.join(repo, '..', 'shared', 'reference', 'kafkajs-kip848-consumer-protocol.md')
  const copy = path.join(repo, 'docs', 'reference', 'kafkajs-kip848-consumer-protocol.md')
  const doc = fs.readFileSync(fs.existsSync(shared) ? shared : copy, 'utf8')
  const first = /```(?:javascript|js)\n([\s\S]*?)```/.exec(doc)
  if (!first) fail('no JavaScript block in the reference document')
  const suffix = `${process.pid}-${Date.now()}`
  const topic = `packed-${suffix}`
  const group = `packed-group-${suffix}`
  const value = `hello from the packed package ${suffix}`
  // The block as written, with this run's broker, topic and group; `require('kafkajs')` is kafkit.
  let example = first[1]
    .replace(/require\((['"])kafkajs\1\)/g, "require('kafkit')")
    .replace(/(['"])localhost:9092\1/g, JSON.stringify(bootstrap))
    .replace(/(['"])my-topic\1/g, JSON.stringify(topic))
    .replace(/(['"])my-group\1/g, JSON.stringify(group))
  for (const want of ["require('kafkit')", JSON.stringify(bootstrap), JSON.stringify(topic), JSON.stringify(group)]) {
    if (!example.includes(want)) fail(`the document's first example no longer has ${want} to substitute:\n${first[1]}`)
  }
  fs.writeFileSync(path.join(app, 'example.js'), `'use strict'\n;(async () => {\n${example}\n})().catch(e => { console.error(e); process.exit(1) })\n`)
  // The topic, made with the installed package too; then, while the example runs, a record every
  // second (the example's consumer starts at the end of the topic, KafkaJS's default, so a
  // record sent before its group has its assignment would not be read).
  fs.writeFileSync(
    path.join(app, 'setup.js'),
    `'use strict'
const { Kafka } = require('kafkit')
;(async () => {
  const kafka = new Kafka({ clientId: 'packed-setup', brokers: [${JSON.stringify(bootstrap)}] })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: ${JSON.stringify(topic)}, numPartitions: 1 }], waitForLeaders: true })
  await admin.disconnect()
})().catch(e => { console.error(e); process.exit(1) })
`
  )
  fs.writeFileSync(
    path.join(app, 'produce.js'),
    `'use strict'
const { Kafka } = require('kafkit')
;(async () => {
  const kafka = new Kafka({ clientId: 'packed-producer', brokers: [${JSON.stringify(bootstrap)}] })
  const producer = kafka.producer()
  await producer.connect()
  for (let i = 0; i < 90; i++) {
    await producer.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: ${JSON.stringify(value)} }] })
    await new Promise(r => setTimeout(r, 1000))
  }
  await producer.disconnect()
})().catch(e => { console.error(e); process.exit(1) })
`
  )
  const setup = spawnSync(process.execPath, ['setup.js'], { cwd: app, env, encoding: 'utf8', timeout: 60000 })
  if (setup.status !== 0) fail(`making the topic on ${bootstrap} failed:\n${setup.stderr}${setup.stdout}`)
  step(`topic ${topic} made on ${bootstrap}`)

  // The example runs until killed (consumer.run does not return): wait for the record it prints.
  const producer = spawn(process.execPath, ['produce.js'], { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let producerErr = ''
  producer.stderr.on('data', d => (producerErr += d))
  const seen = new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['example.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no record printed within 60 s\nstdout:\n${stdout}\nstderr:\n${stderr}\nproducer's stderr:\n${producerErr}`))
    }, 60000)
    child.stdout.on('data', d => {
      stdout += d
      if (stdout.includes(value)) {
        clearTimeout(timer)
        child.kill('SIGTERM')
        resolve(stdout)
      }
    })
    child.stderr.on('data', d => (stderr += d))
    child.on('exit', code => {
      clearTimeout(timer)
      if (!stdout.includes(value)) reject(new Error(`the example exited (${code}) before printing the record\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    })
  }).finally(() => producer.kill('SIGKILL'))
  seen.then(
    out => {
      step(`the reference document's first example printed ${out.trim().split('\n').pop()}`)
      console.error('test-packed: ok')
      fs.rmSync(app, { recursive: true, force: true })
    },
    e => fail(e.message)
  )
} catch (e) {
  fs.rmSync(app, { recursive: true, force: true })
  throw e
}
