import { Router } from "express";
import { z } from "zod";
import { usersRepo, webAuthRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import { invalidAttribute, jsonApiDocument, parseBody, pathParam, resourceName, withUniqueAs } from "../http/request-body";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { sendDocument } from "../http/respond";
import { serializeServiceAccount, serializeUser } from "../serializers/users";
import { hashPassword, validateNewPassword } from "../services/passwords";

/**
 * `GET /account/details`: who the token belongs to. `terraform login` uses it
 * to validate a pasted token (notes §9.3). Team and organization tokens answer
 * with a service account, as HCP does.
 */
export function accountRouter(deps: GatewayDeps): Router {
  const r = Router();
  r.get("/account/details", async (req, res) => {
    const p = principalOf(req);
    switch (p.kind) {
      case "user": {
        const user = await usersRepo.findUserById(deps.db, p.user.id);
        if (!user) throw notFound();
        sendDocument(res, 200, { data: serializeUser(user, { showEmail: true, isSelf: true }) });
        return;
      }
      case "team":
        sendDocument(res, 200, { data: serializeServiceAccount(`user-${p.team.id.replace(/^team-/, "")}`, `api-${p.team.id}`) });
        return;
      case "organization":
        sendDocument(res, 200, {
          data: serializeServiceAccount(`user-${p.organizationId.replace(/^org-/, "")}`, `api-org-${p.organizationName}`),
        });
        return;
    }
  });

  // Site-admin user creation (TFE admin API). Anyone else gets a 404, as for any admin endpoint.
  // An optional `password` (write-only, at least 8 characters) lets the user sign in to the web UI.
  r.post("/admin/users", async (req, res) => {
    const p = principalOf(req);
    if (p.kind !== "user" || !p.user.isSiteAdmin) throw notFound();
    const attrs = parseBody(createUserBody, req.body).data.attributes;
    if (attrs.password !== undefined) validateNewPassword(attrs.password, PASSWORD_POINTER);
    const passwordHash = attrs.password !== undefined ? await hashPassword(attrs.password) : undefined;
    const taken = () => invalidAttribute("Username has already been taken", "/data/attributes/username");
    const user = await withUniqueAs(async () => {
      const conflict = await usersRepo.findUserConflict(deps.db, attrs);
      if (conflict === "username") throw taken();
      if (conflict === "email") throw invalidAttribute("Email has already been taken", "/data/attributes/email");
      return usersRepo.createUser(deps.db, {
        username: attrs.username,
        email: attrs.email,
        isSiteAdmin: attrs["is-admin"] ?? false,
        isServiceAccount: attrs["is-service-account"] ?? false,
        passwordHash,
      });
    }, taken);
    sendDocument(res, 201, { data: serializeUser(user, { showEmail: true, isSelf: false }) });
  });

  // Site-admin password reset. The password is never returned; the user's web sessions end.
  r.patch("/admin/users/:id", async (req, res) => {
    const p = principalOf(req);
    if (p.kind !== "user" || !p.user.isSiteAdmin) throw notFound();
    const user = await usersRepo.findUserById(deps.db, pathParam(req, "id"));
    if (!user) throw notFound();
    const attrs = parseBody(updateUserBody, req.body).data.attributes;
    if (attrs.password !== undefined) {
      validateNewPassword(attrs.password, PASSWORD_POINTER);
      await webAuthRepo.changePassword(deps.db, user.id, await hashPassword(attrs.password));
    }
    sendDocument(res, 200, { data: serializeUser(user, { showEmail: true, isSelf: p.user.id === user.id }) });
  });

  // Users are visible to themselves, to site admins and to users sharing an organization.
  r.get("/users/:id", async (req, res) => {
    const p = principalOf(req);
    const user = await usersRepo.findUserById(deps.db, pathParam(req, "id"));
    if (!user) throw notFound();
    const isSelf = p.kind === "user" && p.user.id === user.id;
    const isAdmin = p.kind === "user" && p.user.isSiteAdmin;
    let visible = isSelf || isAdmin;
    if (!visible && p.kind === "user") visible = await usersRepo.shareOrganization(deps.db, p.user.id, user.id);
    if (!visible && p.kind === "team") visible = await usersRepo.isMemberOfOrganization(deps.db, user.id, p.team.organizationId);
    if (!visible && p.kind === "organization") visible = await usersRepo.isMemberOfOrganization(deps.db, user.id, p.organizationId);
    if (!visible) throw notFound();
    sendDocument(res, 200, { data: serializeUser(user, { showEmail: isSelf || isAdmin, isSelf }) });
  });

  return r;
}

const createUserBody = jsonApiDocument(
  "users",
  z.object({
    username: resourceName(90),
    email: z.email("Email is invalid").max(254),
    "is-admin": z.boolean().optional(),
    "is-service-account": z.boolean().optional(),
    password: z.string("Password must be a string").optional(),
  }),
);

const PASSWORD_POINTER = "/data/attributes/password";

const updateUserBody = jsonApiDocument(
  "users",
  z.object({
    password: z.string("Password must be a string").optional(),
  }),
);
