'use strict'
// The handler retry's wait is the core's RetryPolicy (no broker needed).
const test = require('node:test')
const assert = require('node:assert')
const { backoff } = require('../lib/retry')

test('the wait grows by the multiplier, within the jitter, up to maxRetryTime', () => {
  assert.strictEqual(backoff({ initialRetryTime: 100, factor: 0, multiplier: 2 }, 0), 100)
  assert.strictEqual(backoff({ initialRetryTime: 100, factor: 0, multiplier: 2 }, 3), 800)
  assert.strictEqual(backoff({ initialRetryTime: 100, maxRetryTime: 500, factor: 0 }, 10), 500)
  for (let i = 0; i < 50; i++) {
    const w = backoff({}, 0) // KafkaJS's defaults: 300 ms ± 20 %
    assert.ok(w >= 240 && w <= 360, `${w}`)
  }
})
