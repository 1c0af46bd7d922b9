'use strict'
// The native core (built from src/ by scripts/build.js on `npm install`).

const path = require('path')

const file = process.env.KAFKIT_NODE_ADDON || path.join(__dirname, '..', 'kafkit.node')
let native
try {
  native = require(file)
} catch (e) {
  throw new Error(
    `kafkit: the native core ${file} could not be loaded (${e.message}). ` +
      'It is built from source with cargo when the package is installed: run `npm install` ' +
      '(or `npm run build`) in the package directory, with Rust installed from https://rustup.rs'
  )
}
module.exports = native
