'use strict'
// KafkaJS's retry policy (`retry: { retries, initialRetryTime, maxRetryTime, factor,
// multiplier }`) for handler failures: a failing eachMessage/eachBatch is called again after a
// randomized, growing wait; after the last retry the error is given up as
// KafkaJSNumberOfRetriesExceeded (what KafkaJS reports in CRASH).

const { KafkaJSNumberOfRetriesExceeded } = require('./errors')
const native = require('./native')

// The wait is the core's own backoff (kafkit's RetryPolicy), not a second implementation.
function backoff({ initialRetryTime, maxRetryTime, factor, multiplier } = {}, attempt) {
  return native.retryBackoff({ initialRetryTime, maxRetryTime, factor, multiplier }, attempt)
}

// Calls `fn` until it succeeds or the retries are spent; `failed` is the error of a first
// call already made (the caller's fast path), which counts as attempt 0. `abandon()` true
// between attempts (the consumer stopped, the partition was paused) gives up quietly: the
// error thrown then has `abandoned` set.
async function retrying(policy, fn, logger, failed, abandon) {
  const started = Date.now()
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt === 0 && failed !== undefined) throw failed
      return await fn()
    } catch (e) {
      if (e && e.retriable === false) throw e
      if (attempt >= (policy.retries ?? 5)) {
        throw new KafkaJSNumberOfRetriesExceeded(e, { retryCount: attempt, retryTime: Date.now() - started })
      }
      const wait = backoff(policy, attempt)
      if (logger) logger.error(`Error in the handler, retrying in ${wait}ms: ${e && e.message}`, { retryCount: attempt, retryTime: wait })
      await new Promise(r => setTimeout(r, wait))
      if (abandon && abandon()) throw Object.assign(new Error('retry abandoned'), { abandoned: true })
    }
  }
}

module.exports = { retrying, backoff }
