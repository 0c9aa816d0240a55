"use strict";
// Human-readable plan output in terraform's layout (approximately: the same headings, symbols,
// per-resource sentences and summary lines; attribute diffs are simplified).

const KNOWN_AFTER_APPLY = "(known after apply)";

const SYMBOLS = {
  create: "  + create",
  update: "  ~ update in-place",
  delete: "  - destroy",
  "delete,create": "-/+ destroy and then create replacement",
  "create,delete": "+/- create replacement and then destroy",
};

function renderValue(value, sign, indent) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value !== "object") return String(value);
  const pad = " ".repeat(indent);
  const marker = sign ? `${sign} ` : "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => `${pad}    ${marker}${renderValue(v, sign, indent + 4)},`);
    return `[\n${items.join("\n")}\n${pad}  ]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return "{}";
  const width = Math.max(...keys.map((k) => JSON.stringify(k).length));
  const items = keys.map((k) => `${pad}    ${marker}${JSON.stringify(k).padEnd(width)} = ${renderValue(value[k], sign, indent + 4)}`);
  return `{\n${items.join("\n")}\n${pad}  }`;
}

function isMap(v) {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** A map attribute changed in place shows only its changed elements, like terraform. */
function renderMapDiff(before, after, indent) {
  const pad = " ".repeat(indent);
  const rows = [];
  let hidden = 0;
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const key = JSON.stringify(k);
    if (!(k in after)) rows.push({ sign: "-", key, text: `${renderValue(before[k], "-", indent + 4)} -> null` });
    else if (!(k in before)) rows.push({ sign: "+", key, text: renderValue(after[k], "+", indent + 4) });
    else if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      rows.push({ sign: "~", key, text: `${renderValue(before[k], "", indent + 4)} -> ${renderValue(after[k], "", indent + 4)}` });
    } else hidden++;
  }
  const lines = attributeLines(rows, indent + 4);
  if (hidden > 0) lines.push(`${pad}      # (${hidden} unchanged element${hidden === 1 ? "" : "s"} hidden)`);
  return `{\n${lines.join("\n")}\n${pad}  }`;
}

function attributeLines(rows, indent) {
  const width = Math.max(0, ...rows.map((r) => r.key.length));
  const pad = " ".repeat(indent);
  return rows.map((r) => `${pad}${r.sign || " "} ${r.key.padEnd(width)} = ${r.text}`);
}

function resourceBlock(c) {
  const kind = c.actions.join(",");
  const header = `resource "${c.type}" "${c.name}"`;
  const lines = [];
  const rows = [];
  if (kind === "create") {
    for (const k of Object.keys(c.after).sort()) {
      rows.push({ sign: "+", key: k, text: k === "id" && c.after.id === null ? KNOWN_AFTER_APPLY : renderValue(c.after[k], "+", 6) });
    }
    lines.push(`  + ${header} {`, ...attributeLines(rows, 6), "    }");
  } else if (kind === "delete") {
    for (const k of Object.keys(c.before).sort()) {
      if (c.before[k] === null) continue;
      rows.push({ sign: "-", key: k, text: `${renderValue(c.before[k], "-", 6)} -> null` });
    }
    lines.push(`  - ${header} {`, ...attributeLines(rows, 6), "    }");
  } else if (kind === "no-op") {
    for (const k of Object.keys(c.after).sort()) rows.push({ sign: " ", key: k, text: renderValue(c.after[k], "", 6) });
    lines.push(`    ${header} {`, ...attributeLines(rows, 6), "    }");
  } else {
    const replace = kind !== "update";
    let hidden = 0;
    for (const k of [...new Set([...Object.keys(c.before), ...Object.keys(c.after)])].sort()) {
      const before = c.before[k] ?? null;
      const after = c.after[k] ?? null;
      if (k === "id") {
        rows.push(replace ? { sign: "~", key: k, text: `${renderValue(before, "", 6)} -> ${KNOWN_AFTER_APPLY}` } : { sign: " ", key: k, text: renderValue(before, "", 6) });
      } else if (JSON.stringify(before) === JSON.stringify(after)) {
        hidden++;
      } else if (before === null) {
        rows.push({ sign: "+", key: k, text: renderValue(after, "+", 6) });
      } else if (after === null) {
        rows.push({ sign: "-", key: k, text: `${renderValue(before, "-", 6)} -> null` });
      } else if (isMap(before) && isMap(after)) {
        rows.push({ sign: "~", key: k, text: renderMapDiff(before, after, 6) });
      } else {
        rows.push({ sign: "~", key: k, text: `${renderValue(before, "", 6)} -> ${renderValue(after, "", 6)}` });
      }
    }
    const lead = replace ? (kind === "delete,create" ? "-/+" : "+/-") : "  ~";
    lines.push(`${lead} ${header} {`, ...attributeLines(rows, 6));
    if (hidden > 0) lines.push(`        # (${hidden} unchanged attribute${hidden === 1 ? "" : "s"} hidden)`);
    lines.push("    }");
  }
  return lines;
}

function headline(c) {
  const kind = c.actions.join(",");
  if (c.importing && kind === "no-op") return [`  # ${c.address} will be imported`];
  switch (kind) {
    case "create":
      return [`  # ${c.address} will be created`];
    case "update":
      return [`  # ${c.address} will be updated in-place`];
    case "delete":
      return c.action_reason === "delete_because_no_resource_config"
        ? [`  # ${c.address} will be destroyed`, `  # (because ${c.address} is not in configuration)`]
        : [`  # ${c.address} will be destroyed`];
    default:
      return c.action_reason === "replace_by_request"
        ? [`  # ${c.address} will be replaced, as requested`]
        : [`  # ${c.address} must be replaced`];
  }
}

function outputLines(outputChanges) {
  const rows = [];
  for (const name of Object.keys(outputChanges).sort()) {
    const o = outputChanges[name];
    const kind = o.actions.join(",");
    if (kind === "no-op") continue;
    const show = (v) => (o.sensitive ? "(sensitive value)" : renderValue(v, "", 2));
    const after = o.after_unknown ? KNOWN_AFTER_APPLY : show(o.after);
    if (kind === "create") rows.push({ sign: "+", key: name, text: after });
    else if (kind === "delete") rows.push({ sign: "-", key: name, text: `${show(o.before)} -> null` });
    else rows.push({ sign: "~", key: name, text: `${show(o.before)} -> ${after}` });
  }
  return attributeLines(rows, 2);
}

function summaryLine(counts, destroyMode) {
  const imports = counts.import > 0 ? `${counts.import} to import, ` : "";
  if (destroyMode && counts.add === 0 && counts.change === 0 && counts.import === 0) {
    return `Plan: 0 to add, 0 to change, ${counts.destroy} to destroy.`;
  }
  return `Plan: ${imports}${counts.add} to add, ${counts.change} to change, ${counts.destroy} to destroy.`;
}

/** The text `terraform plan` prints after refreshing, as lines. */
function renderPlan(plan, ui) {
  const lines = [];
  const active = plan.changes.filter((c) => c.actions.join(",") !== "no-op" || c.importing);
  const outputs = outputLines(plan.output_changes);
  if (plan.options.refresh_only) {
    lines.push("", ui.bold("No changes.") + " Your infrastructure still matches the configuration.", "");
    lines.push("Terraform has checked that the real remote objects still match the result of", "your most recent changes, and found no differences.");
    return lines;
  }
  if (active.length === 0 && outputs.length === 0) {
    lines.push("", ui.bold("No changes.") + " Your infrastructure matches the configuration.", "");
    lines.push("Terraform has compared your real infrastructure against your configuration", "and found no differences, so no changes are needed.");
    return lines;
  }
  if (active.length > 0) {
    lines.push("", "Terraform used the selected providers to generate the following execution", "plan. Resource actions are indicated with the following symbols:");
    const kinds = new Set(active.map((c) => c.actions.join(",")));
    for (const [kind, text] of Object.entries(SYMBOLS)) if (kinds.has(kind)) lines.push(text);
    lines.push("", "Terraform will perform the following actions:", "");
    for (const c of active) lines.push(...headline(c), ...resourceBlock(c), "");
    lines.push(ui.bold(summaryLine(plan.counts, plan.options.destroy)));
  }
  if (outputs.length > 0) {
    lines.push("", "Changes to Outputs:", ...outputs);
    if (active.length === 0) {
      lines.push("", "You can apply this plan to save these new output values to the Terraform", "state, without changing any real infrastructure.");
    }
  }
  return lines;
}

/** `terraform output` / the Outputs section after apply. */
function renderOutputs(outputs) {
  return Object.keys(outputs)
    .sort()
    .map((name) => `${name} = ${outputs[name].sensitive ? "<sensitive>" : renderValue(outputs[name].value, "", 0)}`);
}

module.exports = { renderPlan, renderOutputs, renderValue };
