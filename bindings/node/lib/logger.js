'use strict'
// KafkaJS's logging: `logLevel`, a `logCreator(level)` returning `({ namespace, level, label,
// log }) => {}`, and the default creator that prints one JSON line per entry.

const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 }
const labels = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' }

const defaultLogCreator = () => ({ namespace, level, label, log }) => {
  const { timestamp, logger, message, ...others } = log
  const line = JSON.stringify({ level: label, timestamp, logger, message, ...others })
  if (level === logLevel.ERROR) console.error(line)
  else if (level === logLevel.WARN) console.warn(line)
  else console.log(line)
}

function createLogger({ level = logLevel.INFO, logCreator = defaultLogCreator } = {}) {
  let current = level
  const write = logCreator(level)
  const make = (namespace, parentLevel) => {
    const entry = lvl => (message, extra = {}) => {
      if (lvl > current) return
      try {
        write({
          namespace,
          level: lvl,
          label: labels[lvl],
          log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra },
        })
      } catch (_) {
        // A failing user log function must not break the client.
      }
    }
    return {
      info: entry(logLevel.INFO),
      error: entry(logLevel.ERROR),
      warn: entry(logLevel.WARN),
      debug: entry(logLevel.DEBUG),
      namespace: (ns, l = parentLevel) => make(ns, l),
      setLogLevel: l => { current = l },
    }
  }
  return make('', level)
}

module.exports = { logLevel, createLogger }
