"use strict";
// The behaviour script: `terraform-double.json` at the root of the configuration, so a test
// can upload a configuration that plans slowly, fails, or resists cancellation.
//
//   { "plan":  { "seconds": 5, "fail": false, "ignore_interrupt_seconds": 0 },
//     "apply": { "seconds": 0, "fail": false, "ignore_interrupt_seconds": 0 } }

const fs = require("node:fs");
const path = require("node:path");
const { DoubleError } = require("./ui");

const SCRIPT_FILE = "terraform-double.json";
const PHASE_KEYS = new Set(["seconds", "fail", "ignore_interrupt_seconds"]);

function phase(raw, name) {
  const out = { seconds: 0, fail: false, ignore_interrupt_seconds: 0 };
  if (raw === undefined) return out;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid(`"${name}" must be an object`);
  for (const [k, v] of Object.entries(raw)) {
    if (!PHASE_KEYS.has(k)) throw invalid(`unknown key "${name}.${k}"`);
    if (k === "fail") {
      if (typeof v !== "boolean") throw invalid(`"${name}.fail" must be a boolean`);
    } else if (typeof v !== "number" || !(v >= 0)) throw invalid(`"${name}.${k}" must be a number of seconds`);
    out[k] = v;
  }
  return out;
}

function invalid(why) {
  return new DoubleError(`Invalid ${SCRIPT_FILE}`, `The terraform test double could not use ${SCRIPT_FILE}: ${why}.`);
}

function loadScript(dir) {
  const file = path.join(dir, SCRIPT_FILE);
  if (!fs.existsSync(file)) return { plan: phase(undefined, "plan"), apply: phase(undefined, "apply") };
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw invalid(err.message);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid("the file must hold a JSON object");
  for (const k of Object.keys(raw)) if (k !== "plan" && k !== "apply") throw invalid(`unknown key "${k}"`);
  return { plan: phase(raw.plan, "plan"), apply: phase(raw.apply, "apply") };
}

module.exports = { loadScript, SCRIPT_FILE };
