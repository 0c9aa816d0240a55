import type { projectsRepo, tagsRepo } from "@tarmac/db";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

export function projectPath(id: string): string {
  return `/api/v2/projects/${id}`;
}

export interface ProjectSerializeContext {
  /** Owners (and organization tokens): create, rename, delete, tag and fill the project. */
  canManage: boolean;
  /** May create workspaces in it (owners and manage-workspaces teams). */
  canCreateWorkspace: boolean;
}

/** A `projects` resource with the attributes of HCP's spec; execution settings are the organization's. */
export function serializeProject(p: projectsRepo.ProjectView, ctx: ProjectSerializeContext): Resource {
  const self = projectPath(p.id);
  return {
    id: p.id,
    type: "projects",
    attributes: {
      name: p.name,
      description: p.description,
      "created-at": time(p.createdAt),
      "auto-destroy-activity-duration": null,
      "default-execution-mode": "remote",
      "setting-overwrites": { "default-execution-mode": false, "default-agent-pool": false },
      "workspace-count": p._count.workspaces,
      "team-count": 0,
      "is-unified": false,
      permissions: {
        "can-read": true,
        "can-update": ctx.canManage,
        "can-destroy": ctx.canManage && !p.isDefault,
        "can-create-workspace": ctx.canCreateWorkspace,
        "can-move-workspace": ctx.canCreateWorkspace,
        "can-move-stack": false,
        "can-manage-stacks": false,
        "can-view-stacks": false,
        "can-update-stacks": false,
        "can-deploy-no-code-modules": false,
        "can-read-teams": ctx.canManage,
        "can-manage-tags": ctx.canManage,
        "can-manage-teams": ctx.canManage,
        "can-manage-varsets": false,
        "can-manage-ephemeral-workspace-for-projects": false,
      },
    },
    relationships: {
      organization: toOne("organizations", p.organization.name),
      "tag-bindings": { links: { related: `${self}/tag-bindings` } },
      "effective-tag-bindings": { links: { related: `${self}/effective-tag-bindings` } },
      "default-agent-pool": { data: null },
    },
    links: { self },
  };
}

export function serializeTagBinding(b: tagsRepo.TagBindingRow): Resource {
  return { id: b.id, type: "tag-bindings", attributes: { key: b.key, value: b.value, "created-at": time(b.createdAt) } };
}

/** go-tfe tells an inherited binding by `links["inherited-from"]`; the spec names the project as a relationship. */
export function serializeEffectiveTagBinding(b: tagsRepo.EffectiveBinding): Resource {
  const from = b.inheritedFromProjectId;
  return {
    id: b.id,
    type: "effective-tag-bindings",
    attributes: { key: b.key, value: b.value },
    ...(from
      ? { relationships: { "inherited-from": toOne("projects", from, projectPath(from)) }, links: { "inherited-from": projectPath(from) } }
      : {}),
  };
}

export function serializeTag(t: tagsRepo.OrganizationTag | { name: string; instanceCount: number; createdAt?: Date }): Resource {
  return {
    id: `tag-${t.name}`,
    type: "tags",
    attributes: { name: t.name, "instance-count": t.instanceCount, ...(t.createdAt ? { "created-at": time(t.createdAt) } : {}) },
  };
}
