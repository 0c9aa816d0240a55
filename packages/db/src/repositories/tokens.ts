import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { ApiToken } from "../generated/prisma/client";
import { hashSecret, newSecret } from "../secrets";

export type { ApiToken };

/** HCP's token shape: `<14 chars>.atlasv1.<long random>`; only its hash is stored. */
export function generateTokenValue(): string {
  return `${newSecret(10).slice(0, 14)}.atlasv1.${newSecret(48)}`;
}

export type TokenSubject =
  | { kind: "user"; userId: string }
  | { kind: "team"; teamId: string }
  | { kind: "organization"; organizationId: string };

export interface IssueTokenInput {
  subject: TokenSubject;
  description?: string | null;
  expiredAt?: Date | null;
  createdById?: string | null;
}

/**
 * Creates a token and returns its value once. Team and organization tokens are
 * one per subject: issuing a new one revokes the old one in the same transaction.
 */
export async function issueToken(tx: Tx, input: IssueTokenInput): Promise<{ token: ApiToken; value: string }> {
  const { subject } = input;
  if (subject.kind === "team") await tx.apiToken.deleteMany({ where: { kind: "team", teamId: subject.teamId } });
  if (subject.kind === "organization") {
    await tx.apiToken.deleteMany({ where: { kind: "organization", organizationId: subject.organizationId } });
  }
  const value = generateTokenValue();
  const token = await tx.apiToken.create({
    data: {
      id: newId("at"),
      kind: subject.kind,
      tokenHash: hashSecret(value),
      description: input.description ?? null,
      expiredAt: input.expiredAt ?? null,
      createdById: input.createdById ?? null,
      userId: subject.kind === "user" ? subject.userId : null,
      teamId: subject.kind === "team" ? subject.teamId : null,
      organizationId: subject.kind === "organization" ? subject.organizationId : null,
    },
  });
  return { token, value };
}

export async function findToken(db: Db | Tx, id: string): Promise<ApiToken | null> {
  return db.apiToken.findUnique({ where: { id } });
}

export async function findTeamToken(db: Db | Tx, teamId: string): Promise<ApiToken | null> {
  return db.apiToken.findFirst({ where: { kind: "team", teamId } });
}

export async function findOrganizationToken(db: Db | Tx, organizationId: string): Promise<ApiToken | null> {
  return db.apiToken.findFirst({ where: { kind: "organization", organizationId } });
}

export async function listUserTokens(
  db: Db | Tx,
  userId: string,
  offset: number,
  limit: number,
): Promise<{ items: ApiToken[]; total: number }> {
  const where = { kind: "user" as const, userId };
  const [items, total] = await Promise.all([
    db.apiToken.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: offset, take: limit }),
    db.apiToken.count({ where }),
  ]);
  return { items, total };
}

export async function deleteToken(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.apiToken.deleteMany({ where: { id } });
  return count === 1;
}

export async function deleteTeamToken(db: Db | Tx, teamId: string): Promise<number> {
  return (await db.apiToken.deleteMany({ where: { kind: "team", teamId } })).count;
}

export async function deleteOrganizationToken(db: Db | Tx, organizationId: string): Promise<number> {
  return (await db.apiToken.deleteMany({ where: { kind: "organization", organizationId } })).count;
}
