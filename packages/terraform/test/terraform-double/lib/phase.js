"use strict";
// Time and signals. A phase (plan or apply) can be scripted to take a while, to fail, and to
// ignore SIGINT for a number of seconds after the process started (a provider that is slow to
// cancel), which is what makes force-cancel (SIGKILL) necessary.

const state = {
  startedAt: Date.now(),
  ignoreUntil: 0,
  announced: false,
  interrupted: false,
  waiters: new Set(),
  logger: null,
};

function installSignalHandlers(logger) {
  state.logger = logger;
  // terraform treats SIGTERM exactly like an interrupt.
  process.on("SIGINT", () => onSignal("interrupt"));
  process.on("SIGTERM", () => onSignal("terminated"));
}

function onSignal(kind) {
  const ignoring = Date.now() < state.ignoreUntil;
  if (state.logger) state.logger.trace(`received ${kind} signal${ignoring ? " while a provider ignores it" : ""}`);
  if (!state.announced) {
    state.announced = true;
    process.stdout.write("\nInterrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...\n\n");
  } else if (!ignoring && state.interrupted) {
    process.stdout.write("\nTwo interrupts received. Exiting immediately. Note that data loss may have occurred.\n");
    process.exit(1);
  }
  if (ignoring) {
    // The graceful shutdown only starts once the scripted stubborn period is over.
    setTimeout(trigger, state.ignoreUntil - Date.now()).unref();
    return;
  }
  trigger();
}

function trigger() {
  if (state.interrupted) return;
  state.interrupted = true;
  for (const wake of state.waiters) wake();
  state.waiters.clear();
}

function isInterrupted() {
  return state.interrupted;
}

function ignoreInterruptsFor(seconds) {
  state.ignoreUntil = state.startedAt + Math.max(0, Number(seconds) || 0) * 1000;
}

/** Resolves true after `ms`, or false as soon as an interrupt is honoured. */
function sleep(ms) {
  if (state.interrupted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      state.waiters.delete(wake);
      resolve(true);
    }, ms);
    state.waiters.add(wake);
  });
}

/** Waits `ms`, calling tick(secondsElapsed) at every whole second before the end. */
async function runFor(ms, tick) {
  const start = Date.now();
  for (;;) {
    const elapsed = Date.now() - start;
    if (elapsed >= ms) return !state.interrupted;
    const toNextSecond = 1000 - (elapsed % 1000);
    const completed = await sleep(Math.min(toNextSecond, ms - elapsed));
    if (!completed) return false;
    const now = Date.now() - start;
    if (now < ms && now >= 1000) tick(Math.floor(now / 1000));
  }
}

/** Go's duration formatting, as terraform prints elapsed times: 5s, 1m0s. */
function formatElapsed(seconds) {
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

module.exports = { installSignalHandlers, isInterrupted, ignoreInterruptsFor, sleep, runFor, formatElapsed };
