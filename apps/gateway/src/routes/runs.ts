import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { permits, unprocessable } from "@tarmac/domain";
import { flattenQuery, paginate, parseInclude, parsePage } from "@tarmac/jsonapi";
import { checkHclLiteral } from "@tarmac/terraform";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf } from "../http/auth";
import { parseBody } from "../http/request-body";
import { guards, refuseTokenKindLacking, runOf } from "../http/requires";
import { sendDocument } from "../http/respond";
import type { runsRead } from "@tarmac/db";
import type { RunContext } from "../http/run-access";
import { loadRunTargetForPrincipal } from "../http/workspace-access";
import { buildRunDocuments } from "../services/run-documents";
import { queueRun } from "../services/runs";

const optBool = z.boolean().nullable().optional();
const addrs = z.array(z.string().min(1)).nullable().optional();

const createRunBody = z.object({
  data: z.object({
    type: z.literal("runs").optional(),
    attributes: z
      .object({
        "allow-empty-apply": optBool,
        "allow-config-generation": optBool,
        "auto-apply": optBool,
        "debugging-mode": optBool,
        "is-destroy": optBool,
        message: z.string().nullable().optional(),
        refresh: optBool,
        "refresh-only": optBool,
        "replace-addrs": addrs,
        "target-addrs": addrs,
        "invoke-action-addrs": addrs,
        "policy-paths": addrs,
        variables: z.array(z.object({ key: z.string().min(1), value: z.string() })).nullable().optional(),
        "plan-only": optBool,
        "save-plan": optBool,
        "terraform-version": z
          .string()
          .regex(/^(latest|\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)$/, "must be a Terraform version such as 1.9.4")
          .nullable()
          .optional(),
      })
      .nullable()
      .optional(),
    relationships: z.object({
      workspace: z.object({ data: z.object({ type: z.literal("workspaces").optional(), id: z.string().min(1) }) }),
      "configuration-version": z
        .object({
          data: z.object({ type: z.literal("configuration-versions").optional(), id: z.string().min(1) }).nullable().optional(),
        })
        .nullable()
        .optional(),
    }),
  }),
});

function parseCreateBody(body: unknown): z.infer<typeof createRunBody> {
  const parsed = parseBody(createRunBody, body);
  const vars = parsed.data.attributes?.variables ?? [];
  vars.forEach((v, i) => {
    const check = checkHclLiteral(v.value);
    if (!check.ok) {
      throw unprocessable(`variable "${v.key}" is not an HCL literal: ${check.reason}`, {
        pointer: `/data/attributes/variables/${i}/value`,
      });
    }
  });
  return parsed;
}

async function sendRun(
  deps: GatewayDeps,
  req: Request,
  res: Response,
  status: number,
  ctx: RunContext,
  known?: { extras: runsRead.RunExtras; taskStageIds: string[] } | null,
): Promise<void> {
  const { data, included } = await buildRunDocuments(deps, [ctx.run], {
    include: parseInclude(req.query as Record<string, unknown>),
    principal: principalOf(req),
    accessOf: () => ctx.access,
    ...(known
      ? { known: { extras: new Map([[ctx.run.id, known.extras]]), taskStageIds: new Map([[ctx.run.id, known.taskStageIds]]) } }
      : {}),
  });
  sendDocument(res, status, { data: data[0], ...(included.length > 0 ? { included } : {}) });
}

export function runsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  // The workspace is named in the body, so the requirement is checked once the body is parsed.
  router.post("/runs", async (req, res) => {
    const principal = principalOf(req);
    // A token that could hold the permission on no workspace is refused before its body is read.
    refuseTokenKindLacking(principal, "can-queue-run");
    const body = parseCreateBody(req.body);
    const cvData = body.data.relationships["configuration-version"]?.data ?? null;
    const { workspace, access, configurationVersion } = await loadRunTargetForPrincipal(
      deps,
      principal,
      body.data.relationships.workspace.data.id,
      cvData?.id ?? null,
      "can-queue-run",
    );
    const queued = await queueRun(deps, {
      workspace,
      ...(cvData ? { configurationVersionId: cvData.id } : {}),
      configurationVersion,
      attributes: body.data.attributes ?? {},
      createdById: actingUserId(principal),
      queuedWithApplyPermission: permits(access, principal.kind, "can-apply"),
    });
    // A run written without task stages has its document's extras from the write itself.
    await sendRun(deps, req, res, 201, { run: queued.run, workspace, access }, queued.known);
  });

  router.get("/runs/:id", requires("run-document", "can-read-run"), async (req, res) => {
    const ctx = runOf(res);
    await sendRun(deps, req, res, 200, ctx, ctx.known);
  });

  // Policy checks are not run: the list is empty, which keeps the CLI from polling (notes §0.10).
  router.get("/runs/:id/policy-checks", requires("run", "can-read-run"), async (req, res) => {
    const { run } = runOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { meta, links } = paginate(page, 0, `${deps.publicUrl}/api/v2/runs/${run.id}/policy-checks`, flattenQuery(query));
    sendDocument(res, 200, { data: [], links, meta });
  });

  return router;
}
