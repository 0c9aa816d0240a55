/**
 * Reads the counts a plan resource reports from terraform's JSON plan (`terraform show -json`),
 * the way HCP Terraform counts them. Validation is lenient: unknown fields and unknown actions
 * are ignored, so newer terraform versions keep working.
 */

export interface PlanSummary {
  hasChanges: boolean;
  resourceAdditions: number;
  resourceChanges: number;
  resourceDestructions: number;
  resourceImports: number;
}

export class InvalidPlanJsonError extends Error {
  constructor(message: string) {
    super(`invalid JSON plan: ${message}`);
    this.name = "InvalidPlanJsonError";
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readActions(change: unknown, where: string): string[] {
  if (!isObject(change)) throw new InvalidPlanJsonError(`${where} must be an object`);
  const actions = change.actions;
  if (!Array.isArray(actions) || !actions.every((a): a is string => typeof a === "string")) {
    throw new InvalidPlanJsonError(`${where}.actions must be an array of strings`);
  }
  return actions;
}

/** Accepts the parsed document, or its text. */
export function parsePlanJson(json: unknown): PlanSummary {
  let doc = json;
  if (typeof json === "string" || Buffer.isBuffer(json)) {
    try {
      doc = JSON.parse(json.toString()) as unknown;
    } catch (err) {
      throw new InvalidPlanJsonError(`not JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(doc)) throw new InvalidPlanJsonError("the document must be a JSON object");

  const summary: PlanSummary = { hasChanges: false, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0, resourceImports: 0 };
  // terraform omits resource_changes and output_changes when they are empty.
  const resourceChanges = doc.resource_changes ?? [];
  if (!Array.isArray(resourceChanges)) throw new InvalidPlanJsonError("resource_changes must be an array");
  resourceChanges.forEach((rc: unknown, i) => {
    const where = `resource_changes[${i}]`;
    if (!isObject(rc)) throw new InvalidPlanJsonError(`${where} must be an object`);
    const change = rc.change;
    const actions = readActions(change, `${where}.change`);
    switch (actions.join(",")) {
      case "create":
        summary.resourceAdditions++;
        break;
      case "update":
        summary.resourceChanges++;
        break;
      case "delete":
        summary.resourceDestructions++;
        break;
      case "delete,create":
      case "create,delete":
        summary.resourceAdditions++;
        summary.resourceDestructions++;
        break;
      default:
        // no-op, read, forget and future actions change no infrastructure count.
        break;
    }
    if (isObject(change) && isObject(change.importing)) summary.resourceImports++;
  });

  const outputChanges = doc.output_changes ?? {};
  if (!isObject(outputChanges)) throw new InvalidPlanJsonError("output_changes must be an object");
  const outputsChange = Object.entries(outputChanges).some(([name, oc]) => {
    const actions = readActions(oc, `output_changes.${name}`);
    return actions.some((a) => a !== "no-op");
  });

  const counted = summary.resourceAdditions + summary.resourceChanges + summary.resourceDestructions + summary.resourceImports;
  // `applyable` (terraform 1.8+) also covers a refresh-only plan whose only effect is updated state.
  summary.hasChanges = counted > 0 || outputsChange || doc.applyable === true;
  return summary;
}
