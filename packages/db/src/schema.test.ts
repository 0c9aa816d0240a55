import { createEmptyDatabase, migrateDeploy, type TestDatabase } from "@tarmac/testing";
import { createDb, type Db } from "./client";
import { putBlob, getBlob } from "./blobs";
import { hashSecret } from "./secrets";

/**
 * Migrates an empty database with `prisma migrate deploy` and writes and reads
 * every model through the generated client, so the SQL migrations and
 * schema.prisma cannot drift apart unnoticed.
 */
describe("the storage schema", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createEmptyDatabase();
    migrateDeploy(database.url);
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
  }, 60_000);

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("stores and reads back every model", async () => {
    const org = await db.organization.create({
      data: { id: "org-1", name: "acme", email: "ops@acme.test", runConcurrency: 3, costEstimationEnabled: true },
    });
    const user = await db.user.create({ data: { id: "user-1", username: "alice", email: "alice@acme.test" } });
    const team = await db.team.create({ data: { id: "team-1", organizationId: org.id, name: "owners", isOwners: true } });
    await db.teamMembership.create({ data: { teamId: team.id, userId: user.id } });
    const sshKey = await db.sshKey.create({ data: { id: "sshkey-1", organizationId: org.id, name: "deploy", value: "v1:encrypted" } });
    const ws = await db.workspace.create({
      data: {
        id: "ws-1",
        organizationId: org.id,
        name: "prod",
        autoApply: true,
        workingDirectory: "infra",
        sshKeyId: sshKey.id,
        triggerPrefixes: ["modules/"],
      },
    });
    await db.teamWorkspaceAccess.create({ data: { id: "tws-1", teamId: team.id, workspaceId: ws.id, access: "write" } });
    for (const [id, kind, owner] of [
      ["at-u", "user", { userId: user.id }],
      ["at-t", "team", { teamId: team.id }],
      ["at-o", "organization", { organizationId: org.id }],
    ] as const) {
      await db.apiToken.create({ data: { id, kind, tokenHash: hashSecret(id), ...owner } });
    }
    await db.user.update({ where: { id: user.id }, data: { passwordHash: "scrypt$32768$8$1$salt$hash" } });
    await db.webSession.create({
      data: { id: "sess-1", idHash: hashSecret("cookie"), userId: user.id, csrfToken: "csrf", expiresAt: new Date(Date.now() + 60_000) },
    });
    await db.oAuthAuthorizationCode.create({
      data: { codeHash: hashSecret("code"), userId: user.id, clientId: "terraform-cli", redirectUri: "http://localhost:10000/login", codeChallenge: "c", expiresAt: new Date(Date.now() + 60_000) },
    });
    await db.workspaceVariable.create({
      data: { id: "var-1", workspaceId: ws.id, key: "region", value: '"eu"', category: "terraform", hcl: true },
    });
    const archive = await putBlob(db, Buffer.from("tar"), "application/gzip");
    const cv = await db.configurationVersion.create({
      data: { id: "cv-1", workspaceId: ws.id, status: "uploaded", archiveBlobId: archive },
    });
    const run = await db.run.create({
      data: {
        id: "run-1",
        organizationId: org.id,
        workspaceId: ws.id,
        configurationVersionId: cv.id,
        operation: "plan_and_apply",
        terraformVersion: "1.9.8",
        targetAddrs: ["null_resource.a"],
        variables: [{ key: "n", value: "2" }],
        statusTimestamps: { "plan-queueable-at": "2026-11-27T00:00:00+00:00" },
        createdById: user.id,
      },
    });
    await db.plan.create({ data: { id: "plan-1", runId: run.id } });
    await db.apply.create({ data: { id: "apply-1", runId: run.id } });
    await db.costEstimate.create({ data: { id: "ce-1", runId: run.id, deltaMonthlyCost: "1.50" } });
    const comment = await db.comment.create({ data: { id: "wsc-1", runId: run.id, body: "lgtm", authorId: user.id } });
    await db.runEvent.create({ data: { id: "re-1", runId: run.id, action: "commented", commentId: comment.id, actorId: user.id } });
    await db.runActionRequest.create({ data: { id: "rar-1", runId: run.id, action: "apply", actorId: user.id, requestedAt: new Date() } });
    const sv = await db.stateVersion.create({
      data: { id: "sv-1", workspaceId: ws.id, runId: run.id, serial: 1, stateBlobId: archive },
    });
    await db.stateVersionOutput.create({ data: { id: "wsout-1", stateVersionId: sv.id, name: "ip", value: "10.0.0.1" } });
    await db.workspace.update({
      where: { id: ws.id },
      data: { currentRunId: run.id, currentStateVersionId: sv.id, latestConfigurationVersionId: cv.id },
    });
    await db.outboxEvent.create({ data: { msgId: "m-1", subject: "tarmac.test", payload: { a: 1 } } });

    const loaded = await db.workspace.findUniqueOrThrow({
      where: { organizationId_name: { organizationId: org.id, name: "prod" } },
      include: {
        currentRun: { include: { plan: true, apply: true, costEstimate: true, events: true, comments: true } },
        currentStateVersion: { include: { outputs: true } },
        latestConfigurationVersion: true,
        teamAccess: { include: { team: { include: { memberships: true, tokens: true } } } },
        variables: true,
        organization: { include: { tokens: true } },
        sshKey: true,
      },
    });
    expect(loaded.sshKey?.name).toBe("deploy");
    expect(loaded.triggerPrefixes).toEqual(["modules/"]);
    expect(loaded.currentRun?.status).toBe("pending");
    expect(loaded.currentRun?.refresh).toBe(true);
    expect(loaded.currentRun?.message).toBe("Queued manually via the Terraform Enterprise API");
    expect(loaded.currentRun?.targetAddrs).toEqual(["null_resource.a"]);
    expect(loaded.currentRun?.plan?.status).toBe("pending");
    expect(loaded.currentRun?.apply?.id).toBe("apply-1");
    expect(loaded.currentRun?.costEstimate?.deltaMonthlyCost).toBe("1.50");
    expect(loaded.currentRun?.events[0]?.commentId).toBe("wsc-1");
    expect(await db.runActionRequest.findUniqueOrThrow({ where: { id: "rar-1" } })).toMatchObject({ status: "pending", decidedAt: null });
    expect(loaded.currentStateVersion?.outputs[0]?.value).toBe("10.0.0.1");
    expect(loaded.latestConfigurationVersion?.status).toBe("uploaded");
    expect(loaded.teamAccess[0]?.access).toBe("write");
    expect(loaded.teamAccess[0]?.team.memberships).toHaveLength(1);
    expect(loaded.teamAccess[0]?.team.tokens[0]?.kind).toBe("team");
    expect(loaded.organization.tokens[0]?.kind).toBe("organization");
    expect(loaded.organization.runConcurrency).toBe(3);
    expect(loaded.variables[0]?.category).toBe("terraform");
    expect((await getBlob(db, archive))?.data.toString()).toBe("tar");
    const signIn = await db.user.findUniqueOrThrow({ where: { id: user.id }, include: { sessions: true, oauthCodes: true } });
    expect(signIn.passwordHash).toMatch(/^scrypt\$/);
    expect(signIn.sessions[0]).toMatchObject({ idHash: hashSecret("cookie"), csrfToken: "csrf" });
    expect(signIn.oauthCodes[0]).toMatchObject({ clientId: "terraform-cli", redirectUri: "http://localhost:10000/login" });
    const seqs = await db.run.findMany({ select: { seq: true } });
    expect(typeof seqs[0]?.seq).toBe("bigint");
  });

  it("refuses a second workspace with the same name in one organization", async () => {
    await expect(
      db.workspace.create({ data: { id: "ws-dup", organizationId: "org-1", name: "prod" } }),
    ).rejects.toThrow();
  });

  it("refuses a run status outside the 27 statuses", async () => {
    await expect(db.$executeRawUnsafe(`UPDATE runs SET status = 'bogus' WHERE id = 'run-1'`)).rejects.toThrow();
  });
});
