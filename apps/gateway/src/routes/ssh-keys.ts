import { Router } from "express";
import { z } from "zod";
import { encryptValue, organizationsRepo, sshKeysRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { jsonApiDocument, parseBody, pathParam, resourceName } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { guards, organizationOf } from "../http/requires";
import { organizationContext } from "../http/workspace-access";

const sshKeyPath = (id: string) => `/api/v2/ssh-keys/${id}`;

/** The value is write-only: it never leaves the gateway once stored. */
export function serializeSshKey(key: sshKeysRepo.SshKeyRow): Resource {
  return { id: key.id, type: "ssh-keys", attributes: { name: key.name }, links: { self: sshKeyPath(key.id) } };
}

const value = z.string().min(1, "Value can't be blank").max(64 * 1024);
const createBody = jsonApiDocument("ssh-keys", z.object({ name: resourceName(255), value }));
const updateBody = jsonApiDocument("ssh-keys", z.object({ name: resourceName(255).optional(), value: value.optional() }));

/**
 * SSH keys for private git modules (organization settings). Members may list
 * and read them; owners create, change and delete them.
 */
export function sshKeysRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  async function loadKey(req: Parameters<typeof principalOf>[0], ownerOnly: boolean) {
    const key = await sshKeysRepo.findSshKey(deps.db, pathParam(req, "id"));
    if (!key) throw notFound();
    const org = await organizationsRepo.findOrganizationById(deps.db, key.organizationId);
    const ctx = org ? await organizationContext(deps.db, principalOf(req), org) : null;
    if (!ctx || (ownerOnly && ctx.role !== "owner")) throw notFound();
    return key;
  }

  r.get("/organizations/:org/ssh-keys", requires("organization", "member"), async (req, res) => {
    const ctx = organizationOf(res);
    const page = parsePage(req.query as Record<string, unknown>);
    const { items, total } = await sshKeysRepo.listSshKeys(deps.db, ctx.organization.id, { offset: page.offset, limit: page.size });
    const base = `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(ctx.organization.name)}/ssh-keys`;
    sendDocument(res, 200, { data: items.map(serializeSshKey), ...paginate(page, total, base, flattenQuery(req.query as Record<string, unknown>)) });
  });

  r.post("/organizations/:org/ssh-keys", requires("organization", "owner"), async (req, res) => {
    const ctx = organizationOf(res);
    const { name, value: plaintext } = parseBody(createBody, req.body).data.attributes;
    const key = await sshKeysRepo.createSshKey(deps.db, ctx.organization.id, name, encryptValue(plaintext, deps.keys.current));
    sendDocument(res, 201, { data: serializeSshKey(key) });
  });

  r.get("/ssh-keys/:id", async (req, res) => {
    sendDocument(res, 200, { data: serializeSshKey(await loadKey(req, false)) });
  });

  r.patch("/ssh-keys/:id", async (req, res) => {
    const key = await loadKey(req, true);
    const attrs = parseBody(updateBody, req.body).data.attributes;
    const updated = await sshKeysRepo.updateSshKey(deps.db, key.id, {
      ...(attrs.name !== undefined ? { name: attrs.name } : {}),
      ...(attrs.value !== undefined ? { encryptedValue: encryptValue(attrs.value, deps.keys.current) } : {}),
    });
    sendDocument(res, 200, { data: serializeSshKey(updated) });
  });

  r.delete("/ssh-keys/:id", async (req, res) => {
    const key = await loadKey(req, true);
    await sshKeysRepo.deleteSshKey(deps.db, key.id);
    sendEmpty(res, 204);
  });

  return r;
}
