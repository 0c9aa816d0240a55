import { buildApplyArgs, buildInitArgs, buildPlanArgs, buildShowPlanArgs, isPlanSuccess, type PlanArgsOptions } from "./args";
import { buildTerraformEnv } from "./env";

const PLAN: PlanArgsOptions = { planFile: "run.tfplan", isDestroy: false, refresh: true, refreshOnly: false, targetAddrs: [], replaceAddrs: [] };

describe("terraform command lines", () => {
  it("plans non-interactively into a plan file with detailed exit codes", () => {
    expect(buildPlanArgs(PLAN)).toEqual(["plan", "-input=false", "-no-color", "-out=run.tfplan", "-detailed-exitcode"]);
  });

  it("adds every run option in terraform's flag syntax", () => {
    const args = buildPlanArgs({
      ...PLAN,
      isDestroy: true,
      refresh: false,
      targetAddrs: ["null_resource.a", 'aws_instance.web["blue"]'],
      replaceAddrs: ["null_resource.b[0]"],
      varFiles: ["/tmp/x.tfvars"],
    });
    expect(args.slice(5)).toEqual([
      "-destroy",
      "-refresh=false",
      "-target=null_resource.a",
      '-target=aws_instance.web["blue"]',
      "-replace=null_resource.b[0]",
      "-var-file=/tmp/x.tfvars",
    ]);
    expect(buildPlanArgs({ ...PLAN, refreshOnly: true })).toContain("-refresh-only");
    expect(buildPlanArgs({ ...PLAN, json: true }).at(-1)).toBe("-json");
  });

  it("refuses option combinations terraform rejects", () => {
    expect(() => buildPlanArgs({ ...PLAN, isDestroy: true, refreshOnly: true })).toThrow(/destroy/);
    expect(() => buildPlanArgs({ ...PLAN, refreshOnly: true, refresh: false })).toThrow(/refresh/);
  });

  it("applies a saved plan, inits and shows without prompts", () => {
    expect(buildApplyArgs("run.tfplan")).toEqual(["apply", "-input=false", "-no-color", "-auto-approve", "run.tfplan"]);
    expect(buildApplyArgs("run.tfplan", { json: true })).toEqual(["apply", "-input=false", "-no-color", "-auto-approve", "-json", "run.tfplan"]);
    expect(buildInitArgs()).toEqual(["init", "-input=false", "-no-color"]);
    expect(buildShowPlanArgs("run.tfplan")).toEqual(["show", "-json", "run.tfplan"]);
  });

  it("treats plan exit codes 0 and 2 as success", () => {
    expect([0, 1, 2, null].map(isPlanSuccess)).toEqual([true, false, true, false]);
  });
});

describe("terraform environment", () => {
  it("runs terraform in automation mode with the run's environment variables", () => {
    const env = buildTerraformEnv({ base: { PATH: "/bin", UNSET: undefined }, variables: { AWS_REGION: "eu-west-1" } });
    expect(env).toEqual({ PATH: "/bin", AWS_REGION: "eu-west-1", TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" });
  });

  it("sets TF_LOG=TRACE only in debugging mode", () => {
    expect(buildTerraformEnv({ base: {}, debuggingMode: true }).TF_LOG).toBe("TRACE");
    expect(buildTerraformEnv({ base: {}, debuggingMode: false })).not.toHaveProperty("TF_LOG");
  });
});
