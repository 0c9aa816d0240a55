import { Prisma } from "../generated/prisma/client";

/**
 * Run statuses written into a statement as literals (`'plan_queued', 'apply_queued'`), for reads
 * of runs by status. A partial index on status (runs_status_status_changed_at_idx leaves out
 * pending runs) serves only a statement whose statuses the planner can compare with its
 * predicate when it plans: Prisma's `CAST($1::text AS "RunStatus")` is not one (the enum's input
 * function is only stable), so those reads went through a whole index of another kind instead.
 * The statuses are the domain's constants; anything else is refused.
 */
export function statusLiterals(statuses: readonly string[]): Prisma.Sql {
  if (statuses.length === 0) throw new Error("statusLiterals: no status");
  for (const s of statuses) if (!/^[a-z_]+$/.test(s)) throw new Error(`statusLiterals: not a run status: ${JSON.stringify(s)}`);
  return Prisma.raw(statuses.map((s) => `'${s}'`).join(", "));
}
