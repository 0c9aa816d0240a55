import { randomBytes } from "node:crypto";
import { hashSecret, type Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";

/**
 * Rows written straight to the database, for suites that test what happens inside an
 * organization or a workspace rather than how one is created. An option left out keeps the
 * column's database default. Suites that mean to exercise the API create through it instead.
 */

const suffix = (): string => randomBytes(4).toString("hex");

export interface OrganizationRowOptions {
  name?: string;
  runConcurrency?: number;
  costEstimationEnabled?: boolean;
}

export async function createOrganizationRow(db: Db, opts: OrganizationRowOptions = {}): Promise<{ id: string; name: string }> {
  const name = opts.name ?? `org-${suffix()}`;
  return db.organization.create({
    data: {
      id: newId("org"),
      name,
      email: `${name}@example.com`,
      runConcurrency: opts.runConcurrency,
      costEstimationEnabled: opts.costEstimationEnabled,
    },
    select: { id: true, name: true },
  });
}

export interface WorkspaceRowOptions {
  name?: string;
  autoApply?: boolean;
  locked?: boolean;
  terraformVersion?: string;
  workingDirectory?: string | null;
  agentPoolName?: string | null;
}

export async function createWorkspaceRow(db: Db, organizationId: string, opts: WorkspaceRowOptions = {}): Promise<{ id: string; name: string }> {
  return db.workspace.create({
    data: {
      id: newId("ws"),
      organizationId,
      name: opts.name ?? `ws-${suffix()}`,
      autoApply: opts.autoApply,
      locked: opts.locked,
      terraformVersion: opts.terraformVersion,
      workingDirectory: opts.workingDirectory,
      agentPoolName: opts.agentPoolName,
    },
    select: { id: true, name: true },
  });
}

/** An organization token (owners' access to everything in the organization); returns the secret. */
export async function createOrganizationToken(db: Db, organizationId: string): Promise<string> {
  const token = `org-${randomBytes(16).toString("hex")}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "organization", tokenHash: hashSecret(token), organizationId } });
  return token;
}
