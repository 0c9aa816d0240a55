/**
 * Reads what a state version records (serial, lineage, terraform version, outputs) from a
 * terraform state file (format version 4).
 */

export interface StateOutput {
  value: unknown;
  type: unknown;
  sensitive: boolean;
}

export interface StateSummary {
  serial: number;
  lineage: string;
  terraformVersion: string;
  /** Resource instances across all modules (HCP's `resources-processed` counts these). */
  resourceInstanceCount: number;
  outputs: Record<string, StateOutput>;
}

export class InvalidStateJsonError extends Error {
  constructor(message: string) {
    super(`invalid state file: ${message}`);
    this.name = "InvalidStateJsonError";
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Accepts the parsed document, or its text/bytes. */
export function parseStateJson(json: unknown): StateSummary {
  let doc = json;
  if (typeof json === "string" || Buffer.isBuffer(json)) {
    try {
      doc = JSON.parse(json.toString()) as unknown;
    } catch (err) {
      throw new InvalidStateJsonError(`not JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(doc)) throw new InvalidStateJsonError("the document must be a JSON object");
  if (doc.version !== 4) throw new InvalidStateJsonError(`unsupported format version ${JSON.stringify(doc.version)} (expected 4)`);
  const { serial, lineage } = doc;
  if (typeof serial !== "number" || !Number.isInteger(serial) || serial < 0) throw new InvalidStateJsonError("serial must be a non-negative integer");
  if (typeof lineage !== "string") throw new InvalidStateJsonError("lineage must be a string");
  const terraformVersion = typeof doc.terraform_version === "string" ? doc.terraform_version : "";
  const resources = doc.resources ?? [];
  if (!Array.isArray(resources)) throw new InvalidStateJsonError("resources must be an array");
  let resourceInstanceCount = 0;
  for (const r of resources) {
    if (isObject(r) && Array.isArray(r.instances)) resourceInstanceCount += r.instances.length;
  }
  const outputs: Record<string, StateOutput> = {};
  const rawOutputs = doc.outputs ?? {};
  if (!isObject(rawOutputs)) throw new InvalidStateJsonError("outputs must be an object");
  for (const [name, o] of Object.entries(rawOutputs)) {
    if (!isObject(o)) throw new InvalidStateJsonError(`outputs.${name} must be an object`);
    outputs[name] = { value: o.value, type: o.type, sensitive: o.sensitive === true };
  }
  return { serial, lineage, terraformVersion, resourceInstanceCount, outputs };
}
