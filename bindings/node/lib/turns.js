'use strict'
// A client handle's lifecycle calls (connect, disconnect, stop, the start of a run), as
// KafkaJS users may make them: overlapping or out of order. They take turns, each starting
// once the one before it has ended, whatever its outcome, so none sees a half-built or
// half-torn-down client; and overlapping calls of one kind share one operation.

class Turns {
  constructor() {
    this._queue = Promise.resolve()
    this._shared = new Map()
  }

  // Runs `fn` once every call queued before it has ended.
  run(fn) {
    const p = this._queue.then(() => fn())
    this._queue = p.catch(() => {})
    return p
  }

  // As `run`, but a call of `kind` made while one is pending gets the pending one.
  once(kind, fn) {
    let p = this._shared.get(kind)
    if (!p) {
      p = this.run(fn).finally(() => this._shared.delete(kind))
      this._shared.set(kind, p)
    }
    return p
  }

  // Whether a call of `kind` is pending.
  pending(kind) {
    return this._shared.has(kind)
  }
}

// The producer's and the admin client's disconnect: once, in turn; the native handle is let go
// first so no call starts on it meanwhile, and DISCONNECT is emitted once its events are out.
// (`client` has `_turns`, `_native`, `_pump`, `_instr`; `call` turns a native failure into
// the package's error; `event` is the client's DISCONNECT event name.)
function disconnectClient(client, event, call) {
  return client._turns.once('disconnect', async () => {
    if (!client._native) return
    const n = client._native
    client._native = null
    try {
      await call(n.disconnect())
    } finally {
      await client._pump
      client._instr.emit(event, null)
    }
  })
}

module.exports = { Turns, disconnectClient }
