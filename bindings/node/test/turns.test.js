'use strict'
// The lifecycle calls' turns (lib/turns.js), without a broker.
const test = require('node:test')
const assert = require('node:assert')
const { Turns } = require('../lib/turns')

test('calls take turns whatever the one before did, and overlapping calls of one kind share one', async () => {
  const turns = new Turns()
  const order = []
  let release
  const first = turns.run(() => new Promise(r => { release = r }).then(() => order.push('first')))
  const failing = turns.run(async () => { order.push('failing'); throw new Error('boom') })
  let runs = 0
  const a = turns.once('disconnect', async () => { runs++; order.push('disconnect') })
  const b = turns.once('disconnect', async () => { runs++ })
  assert.strictEqual(a, b, 'the second call gets the pending one')
  assert.ok(turns.pending('disconnect'))
  await new Promise(r => setTimeout(r, 10))
  assert.deepStrictEqual(order, [], 'nothing starts before the first ends')
  release()
  await first
  await assert.rejects(failing, /boom/)
  await a
  assert.deepStrictEqual(order, ['first', 'failing', 'disconnect'])
  assert.strictEqual(runs, 1)
  assert.ok(!turns.pending('disconnect'))
  await turns.once('disconnect', async () => { runs++ })
  assert.strictEqual(runs, 2, 'a later call runs again')
})
