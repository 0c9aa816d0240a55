"use strict";
// Command-line flags parsed the way terraform's Go `flag` package parses them: `-name=value`,
// `-name value` for non-boolean flags, `--name` accepted, parsing stops at the first argument
// that is not a flag. Unknown flags are an error, so a driver bug cannot pass silently.

const { DoubleError } = require("./ui");

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * spec: { name: "bool" | "string" | "int" | "multi" }.
 * Returns { values, ordered, rest }: `ordered` keeps every occurrence in command-line order
 * (terraform gives -var and -var-file precedence by position).
 */
function parseFlags(args, spec, command) {
  const values = {};
  const ordered = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value = eq >= 0 ? body.slice(eq + 1) : undefined;
    const type = spec[name];
    if (!type) throw flagError(command, `flag provided but not defined: -${name}`);
    if (type === "bool") {
      if (value === undefined) value = true;
      else if (TRUE.has(value)) value = true;
      else if (FALSE.has(value)) value = false;
      else throw flagError(command, `invalid boolean value "${value}" for -${name}: parse error`);
    } else {
      if (value === undefined) {
        i++;
        if (i >= args.length) throw flagError(command, `flag needs an argument: -${name}`);
        value = args[i];
      }
      if (type === "int") {
        if (!/^-?\d+$/.test(value)) throw flagError(command, `invalid value "${value}" for flag -${name}: parse error`);
        value = Number(value);
      }
    }
    ordered.push({ name, value });
    if (type === "multi") (values[name] = values[name] || []).push(value);
    else values[name] = value;
  }
  return { values, ordered, rest: args.slice(i) };
}

function flagError(command, message) {
  return new DoubleError(
    "Failed to parse command-line flags",
    `${message}\n\nFor more help on using this command, run:\n  terraform ${command} -help`,
  );
}

module.exports = { parseFlags };
