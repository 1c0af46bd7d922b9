'use strict'
// Preloaded (`node -r`) into each child process that runs a block of the reference document
// (test/reference-examples.test.js): `require('kafkajs')` resolves to ./kafkajs-mapped.js, i.e.
// to this package, so the document's code runs unchanged on kafkit.

const Module = require('module')
const path = require('path')

const mapped = path.join(__dirname, 'kafkajs-mapped.js')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request === 'kafkajs') return mapped
  return resolve.call(this, request, ...rest)
}
