import { redactCapabilityPath } from "./sdk";

describe("redactCapabilityPath", () => {
  it("hides the secret of job, log and upload capability URLs", () => {
    expect(redactCapabilityPath("/_jobs/run-abc/s3cr3t/spec")).toBe("/_jobs/run-abc/[REDACTED]/spec");
    expect(redactCapabilityPath("/_archivist/logs/plan-abc/s3cr3t?offset=0&limit=10")).toBe("/_archivist/logs/plan-abc/[REDACTED]?offset=0&limit=10");
    expect(redactCapabilityPath("/_archivist/uploads/cv-abc/s3cr3t")).toBe("/_archivist/uploads/cv-abc/[REDACTED]");
  });
  it("leaves API paths alone", () => {
    expect(redactCapabilityPath("/api/v2/runs/run-abc")).toBe("/api/v2/runs/run-abc");
  });
});
