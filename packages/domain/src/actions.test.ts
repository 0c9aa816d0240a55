import {
  ACTION_TARGET_STATUS,
  afterAction,
  canApply,
  projectPendingActions,
  canCancel,
  canDiscard,
  canForceCancel,
  canForceExecute,
  decideRunAction,
  DEFAULT_FORCE_CANCEL_COOL_OFF_MS,
  forceCancelAvailableAt,
  refusalToError,
  runActions,
  type ActionCheck,
  type RunFacts,
} from "./actions";
import { TarmacError } from "./errors";
import { RUN_STATUSES, type RunStatus } from "./statuses";
import { canTransition } from "./transitions";

// Expected sets, written out independently of the implementation.
const CONFIRMABLE = ["planned", "cost_estimated", "policy_checked", "post_plan_completed", "planned_and_saved"];
const DISCARDABLE = [
  "pending",
  "planned",
  "planned_and_saved",
  "cost_estimated",
  "policy_checked",
  "policy_override",
  "post_plan_running",
  "post_plan_completed",
];
const CANCELABLE = [
  "pending",
  "fetching",
  "fetching_completed",
  "pre_plan_running",
  "pre_plan_completed",
  "queuing",
  "plan_queued",
  "planning",
  "cost_estimating",
  "policy_checking",
  "post_plan_running",
  "confirmed",
  "pre_apply_running",
  "pre_apply_completed",
  "apply_queued",
  "applying",
];

const NOW = new Date("2026-01-01T12:00:00.000Z");

function run(overrides: Partial<RunFacts> = {}): RunFacts {
  return {
    status: "planned",
    planOnly: false,
    savePlan: false,
    refreshOnly: false,
    isDestroy: false,
    allowEmptyApply: false,
    hasChanges: true,
    forceCancelAvailableAt: null,
    ...overrides,
  };
}

function expectRefused(check: ActionCheck, status: 403 | 409, title: string, detail: RegExp): void {
  expect(check.ok).toBe(false);
  if (check.ok) return;
  expect(check.status).toBe(status);
  expect(check.title).toBe(title);
  expect(check.detail).toMatch(detail);
}

const EVERY_STATUS = RUN_STATUSES.map((s) => [s] as [RunStatus]);

describe("apply", () => {
  it.each(EVERY_STATUS)("in %s is allowed exactly when the run is paused for confirmation", (status) => {
    const check = canApply(run({ status }));
    expect(check.ok).toBe(CONFIRMABLE.includes(status));
    if (!check.ok) {
      expectRefused(check, 409, "transition not allowed", status === "policy_override" ? /overridden/ : /not paused for confirmation/);
    }
  });

  it("is refused for plan-only runs in every status", () => {
    for (const status of RUN_STATUSES) {
      expectRefused(canApply(run({ status, planOnly: true })), 409, "transition not allowed", /Plan-only/);
    }
  });

  it("needs changes, or allow-empty-apply", () => {
    for (const status of CONFIRMABLE as RunStatus[]) {
      expectRefused(canApply(run({ status, hasChanges: false })), 409, "transition not allowed", /no changes/);
      expect(canApply(run({ status, hasChanges: false, allowEmptyApply: true })).ok).toBe(true);
    }
  });
});

describe("discard", () => {
  it.each(EVERY_STATUS)("in %s is allowed exactly for pending and discardable runs", (status) => {
    const check = canDiscard({ status });
    expect(check.ok).toBe(DISCARDABLE.includes(status));
    if (!check.ok) expectRefused(check, 409, "transition not allowed", /not paused for confirmation or priority/);
  });
});

describe("cancel", () => {
  it.each(EVERY_STATUS)("in %s is allowed exactly while the system works on the run", (status) => {
    const check = canCancel({ status });
    expect(check.ok).toBe(CANCELABLE.includes(status));
    if (!check.ok) expectRefused(check, 409, "transition not allowed", /not planning or applying/);
  });

  it("stays allowed after a first cancel, to interrupt terraform again", () => {
    expect(canCancel(run({ status: "applying", forceCancelAvailableAt: NOW })).ok).toBe(true);
  });
});

describe("force-cancel", () => {
  const requested = forceCancelAvailableAt(new Date(NOW.getTime() - 60_000));

  it.each(EVERY_STATUS)("in %s, after a cancel and the cool-off, is allowed exactly where cancel is", (status) => {
    const check = canForceCancel({ status, forceCancelAvailableAt: requested }, NOW);
    expect(check.ok).toBe(CANCELABLE.includes(status));
    if (!check.ok) expectRefused(check, 409, "transition not allowed", /not planning or applying/);
  });

  it.each(EVERY_STATUS)("in %s is refused before any cancel", (status) => {
    expect(canForceCancel({ status, forceCancelAvailableAt: null }, NOW).ok).toBe(false);
  });

  it("explains that a normal cancel must come first", () => {
    expectRefused(canForceCancel({ status: "applying", forceCancelAvailableAt: null }, NOW), 409, "transition not allowed", /not been canceled non-forcefully/);
  });

  it("becomes available exactly when the cool-off ends", () => {
    const cancelRequestedAt = new Date("2026-01-01T12:00:00.000Z");
    const availableAt = forceCancelAvailableAt(cancelRequestedAt);
    expect(availableAt.toISOString()).toBe("2026-01-01T12:00:10.000Z");
    const facts = { status: "applying" as const, forceCancelAvailableAt: availableAt };

    const justBefore = canForceCancel(facts, new Date(availableAt.getTime() - 1));
    expectRefused(justBefore, 409, "transition not allowed", /cool-off.*2026-01-01T12:00:10.000Z/);
    expect(canForceCancel(facts, availableAt).ok).toBe(true);
    expect(canForceCancel(facts, new Date(availableAt.getTime() + 1)).ok).toBe(true);
  });

  it("uses a configurable cool-off, ten seconds by default", () => {
    expect(DEFAULT_FORCE_CANCEL_COOL_OFF_MS).toBe(10_000);
    const at = new Date("2026-01-01T00:00:00.000Z");
    expect(forceCancelAvailableAt(at, 0).getTime()).toBe(at.getTime());
    expect(forceCancelAvailableAt(at, 90_000).toISOString()).toBe("2026-01-01T00:01:30.000Z");
  });
});

describe("force-execute", () => {
  const holder = (status: RunStatus) => ({ id: "run-Holder1111111111", status });
  const target = (status: RunStatus) => ({ id: "run-Target1111111111", status });

  it.each(EVERY_STATUS)("is forbidden (403) for a target in %s unless it is pending", (status) => {
    const check = canForceExecute(target(status), holder("planned"));
    if (status === "pending") expect(check).toEqual({ ok: true });
    else expectRefused(check, 403, "forbidden", /not pending/);
  });

  it("is forbidden (403) when no run holds the workspace, or only the target itself", () => {
    expectRefused(canForceExecute(target("pending"), null), 403, "forbidden", /not locked by another run/);
    expectRefused(canForceExecute(target("pending"), target("pending")), 403, "forbidden", /not locked by another run/);
  });

  it.each(EVERY_STATUS)("conflicts (409) when the holding run in %s cannot be discarded", (status) => {
    const check = canForceExecute(target("pending"), holder(status));
    if (DISCARDABLE.includes(status)) expect(check).toEqual({ ok: true });
    else expectRefused(check, 409, "conflict", /not in a discardable state/);
  });

  it("checks the target's status before the workspace", () => {
    expectRefused(canForceExecute(target("planning"), null), 403, "forbidden", /not pending/);
    expectRefused(canForceExecute(target("planned"), holder("applying")), 403, "forbidden", /not pending/);
  });
});

describe("actions and transitions agree", () => {
  it("every allowed action names a legal move of the run", () => {
    for (const status of RUN_STATUSES) {
      const facts = run({ status, forceCancelAvailableAt: new Date(0) });
      const checks = {
        apply: canApply(facts),
        discard: canDiscard(facts),
        cancel: canCancel(facts),
        "force-cancel": canForceCancel(facts, NOW),
      } as const;
      for (const [action, check] of Object.entries(checks) as [keyof typeof checks, ActionCheck][]) {
        if (check.ok) expect({ status, action, legal: canTransition(status, ACTION_TARGET_STATUS[action]) }).toMatchObject({ legal: true });
      }
    }
  });
});

describe("run actions attribute", () => {
  it.each(EVERY_STATUS)("in %s mirrors the action predicates", (status) => {
    const facts = run({ status, forceCancelAvailableAt: new Date(NOW.getTime() - 1) });
    expect(runActions(facts, NOW)).toEqual({
      "is-cancelable": CANCELABLE.includes(status),
      "is-confirmable": CONFIRMABLE.includes(status),
      "is-discardable": DISCARDABLE.includes(status),
      "is-force-cancelable": CANCELABLE.includes(status),
    });
  });

  it("shows a fresh pending run as cancelable and discardable only", () => {
    expect(runActions(run({ status: "pending", hasChanges: false }), NOW)).toEqual({
      "is-cancelable": true,
      "is-confirmable": false,
      "is-discardable": true,
      "is-force-cancelable": false,
    });
  });
});

describe("refusals as errors", () => {
  it("become TarmacErrors with the same status, title and detail", () => {
    const refused = canApply(run({ status: "applied" }));
    if (refused.ok) throw new Error("expected a refusal");
    const error = refusalToError(refused);
    expect(error).toBeInstanceOf(TarmacError);
    expect(error).toMatchObject({ code: "conflict", status: 409, title: "transition not allowed", detail: refused.detail });

    const forbidden = canForceExecute({ id: "run-A", status: "planning" }, null);
    if (forbidden.ok) throw new Error("expected a refusal");
    expect(refusalToError(forbidden)).toMatchObject({ code: "forbidden", status: 403, title: "forbidden" });
  });
});

describe("decideRunAction", () => {
  it.each(EVERY_STATUS)("cancels %s at once unless terraform is executing, where it interrupts", (status) => {
    const decision = decideRunAction(run({ status }), "cancel", NOW);
    expect(decision.ok).toBe(CANCELABLE.includes(status));
    if (!decision.ok) return;
    expect(decision).toEqual(
      status === "planning" || status === "applying" ? { ok: true, kind: "interrupt" } : { ok: true, kind: "transition", to: "canceled" },
    );
  });

  it.each(EVERY_STATUS)("gives the same answer as the predicate for every action in %s", (status) => {
    const facts = run({ status, forceCancelAvailableAt: new Date(NOW.getTime() - 1) });
    expect(decideRunAction(facts, "apply", NOW).ok).toBe(canApply(facts).ok);
    expect(decideRunAction(facts, "discard", NOW).ok).toBe(canDiscard(facts).ok);
    expect(decideRunAction(facts, "cancel", NOW).ok).toBe(canCancel(facts).ok);
    expect(decideRunAction(facts, "force-cancel", NOW).ok).toBe(canForceCancel(facts, NOW).ok);
    const refused = decideRunAction(run({ status: "applied" }), "apply", NOW);
    expect(refused).toEqual(canApply(run({ status: "applied" })));
  });

  it("moves apply, discard and force-cancel to their target statuses", () => {
    expect(decideRunAction(run(), "apply", NOW)).toEqual({ ok: true, kind: "transition", to: ACTION_TARGET_STATUS.apply });
    expect(decideRunAction(run(), "discard", NOW)).toEqual({ ok: true, kind: "transition", to: "discarded" });
    const stuck = run({ status: "planning", forceCancelAvailableAt: new Date(NOW.getTime() - 1) });
    expect(decideRunAction(stuck, "force-cancel", NOW)).toEqual({ ok: true, kind: "transition", to: "force_canceled" });
  });
});

describe("afterAction", () => {
  const available = new Date(NOW.getTime() + 10_000);

  it("judges a second request against the first one carried out", () => {
    const confirmed = afterAction(run(), "apply", { ok: true, kind: "transition", to: "confirmed" }, available);
    expect(canApply(confirmed).ok).toBe(false);
    expect(canDiscard(confirmed).ok).toBe(false);
    expect(canCancel(confirmed).ok).toBe(true);
  });

  it("records force-cancel-available-at on the first cancel and keeps it on later ones", () => {
    const planning = run({ status: "planning" });
    const once = afterAction(planning, "cancel", { ok: true, kind: "interrupt" }, available);
    expect(once).toEqual({ ...planning, forceCancelAvailableAt: available });
    const twice = afterAction(once, "cancel", { ok: true, kind: "interrupt" }, new Date(available.getTime() + 5_000));
    expect(twice.forceCancelAvailableAt).toEqual(available);
    const ended = afterAction(run({ status: "pending" }), "cancel", { ok: true, kind: "transition", to: "canceled" }, available);
    expect(ended).toMatchObject({ status: "canceled", forceCancelAvailableAt: available });
  });
});

describe("projectPendingActions", () => {
  const at = (ms: number) => new Date(NOW.getTime() + ms);

  it("applies pending actions in order and skips those that would be refused", () => {
    const pending = [
      { action: "apply", requestedAt: at(0), forceCancelAvailableAt: null },
      { action: "discard", requestedAt: at(1), forceCancelAvailableAt: null },
      { action: "cancel", requestedAt: at(2), forceCancelAvailableAt: at(10_002) },
    ];
    expect(projectPendingActions(run(), pending)).toMatchObject({ status: "canceled", forceCancelAvailableAt: at(10_002) });
  });

  it("leaves the run as it is with nothing pending, and ignores force-execute (it moves other runs)", () => {
    const pending = run({ status: "pending" });
    expect(projectPendingActions(pending, [])).toEqual(pending);
    expect(projectPendingActions(pending, [{ action: "force-execute", requestedAt: NOW, forceCancelAvailableAt: null }])).toEqual(pending);
  });
});
