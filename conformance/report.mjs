// Reads `go tool test2json` events of go-tfe's tests and prints one line per test and
// subtest, then `N passed, M failed`. A skip or a failure counts as expected only when
// conformance/known-results.txt lists that exact test with that exact outcome; each one is
// printed loudly with its reason. Anything else that is not a pass fails the run (exit 1).
import { readFileSync } from "node:fs";

const [eventsFile, knownFile] = process.argv.slice(2);
if (!eventsFile || !knownFile) throw new Error("usage: report.mjs <test2json output> <known-results.txt>");

/** @type {Map<string, {outcome: "skip" | "fail", reason: string}>} */
const known = new Map();
for (const raw of readFileSync(knownFile, "utf8").split("\n")) {
  const line = raw.trim();
  if (line === "" || line.startsWith("#")) continue;
  const m = /^(skip|fail)\s+(\S+)\s*(?:#\s*(.*))?$/.exec(line);
  if (!m) throw new Error(`known-results.txt: cannot read "${line}"`);
  known.set(m[2], { outcome: /** @type {"skip"|"fail"} */ (m[1]), reason: m[3] ?? "" });
}

/** @type {Map<string, {action?: string, output: string[]}>} */
const tests = new Map();
const stray = [];
for (const line of readFileSync(eventsFile, "utf8").split("\n")) {
  if (!line.startsWith("{")) {
    if (line.trim() !== "") stray.push(line);
    continue;
  }
  const ev = JSON.parse(line);
  if (!ev.Test) {
    if (ev.Action === "output") stray.push(ev.Output.replace(/\n$/, ""));
    continue;
  }
  const t = tests.get(ev.Test) ?? { output: [] };
  tests.set(ev.Test, t);
  if (ev.Action === "output") t.output.push(ev.Output);
  if (ev.Action === "pass" || ev.Action === "fail" || ev.Action === "skip") t.action = ev.Action;
}

/** The test's own messages (t.Log/t.Skip/t.Error lines), without go test's framing lines. */
function messages(name) {
  return (tests.get(name)?.output ?? [])
    .filter((l) => !/^\s*(=== (RUN|PAUSE|CONT)|--- (PASS|FAIL|SKIP))/.test(l))
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => l.trim() !== "");
}
const children = (name) => [...tests.keys()].filter((n) => n.startsWith(name + "/") && !n.slice(name.length + 1).includes("/"));

let passed = 0;
let failed = 0;
let expected = 0;
const names = [...tests.keys()];
/** @type {Map<string, boolean>} */
const failureExplained = new Map();
// Children first, so a parent knows whether all of its failures are listed ones.
for (const name of [...names].sort((a, b) => b.split("/").length - a.split("/").length)) {
  const t = tests.get(name);
  const k = known.get(name);
  if (t.action === "pass") {
    failureExplained.set(name, true);
    continue;
  }
  if (t.action === "fail" && !k) {
    const failedKids = children(name).filter((c) => tests.get(c)?.action === "fail");
    failureExplained.set(name, failedKids.length > 0 && failedKids.every((c) => failureExplained.get(c)) && !ownError(name));
  } else {
    failureExplained.set(name, k !== undefined && k.outcome === t.action);
  }
}
/** A failure message written by the test itself rather than by one of its subtests. */
function ownError(name) {
  return messages(name).some((l) => /\S+_test\.go:\d+:/.test(l));
}

for (const name of names) {
  const t = tests.get(name);
  const k = known.get(name);
  if (t.action === "pass") {
    passed++;
    console.log(`PASS  ${name}`);
    if (k) console.log(`      !!! listed in known-results.txt as "${k.outcome}" but passes now: remove it from the list`);
  } else if (failureExplained.get(name)) {
    expected++;
    const why = k ? k.reason : "a listed subtest fails";
    console.log(`${t.action === "skip" ? "SKIP" : "FAIL"}  ${name}   <<< EXPECTED (known-results.txt): ${why}`);
  } else {
    failed++;
    console.log(`${(t.action ?? "DID NOT FINISH").toUpperCase()}  ${name}   <<< UNEXPECTED`);
    for (const l of messages(name)) console.log(`      ${l}`);
  }
}
for (const [name, k] of known) {
  if (!tests.has(name)) console.log(`!!! known-results.txt lists ${name} (${k.outcome}), which did not run`);
}
if (tests.size === 0 || stray.some((l) => /^panic:/.test(l))) {
  failed++;
  console.log("go-tfe's test binary did not run to completion:");
  for (const l of stray.slice(-40)) console.log(`      ${l}`);
}
console.log(`go-tfe tests: ${expected} known and expected (listed in conformance/known-results.txt, see conformance/README.md)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
