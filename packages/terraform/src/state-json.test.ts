import { InvalidStateJsonError, parseStateJson } from "./state-json";

const STATE = {
  version: 4,
  terraform_version: "1.9.8",
  serial: 7,
  lineage: "3f0b6a8e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
  outputs: { greeting: { value: "hello", type: "string" }, secret: { value: "s3cr3t", type: "string", sensitive: true } },
  resources: [
    {
      mode: "managed",
      type: "null_resource",
      name: "a",
      provider: 'provider["registry.terraform.io/hashicorp/null"]',
      instances: [
        { schema_version: 0, attributes: { id: "1", triggers: null }, sensitive_attributes: [] },
        { index_key: 1, schema_version: 0, attributes: { id: "2", triggers: null }, sensitive_attributes: [] },
      ],
    },
  ],
  check_results: null,
};

describe("parseStateJson", () => {
  it("reads serial, lineage, version, instance count and outputs", () => {
    expect(parseStateJson(JSON.stringify(STATE))).toEqual({
      serial: 7,
      lineage: STATE.lineage,
      terraformVersion: "1.9.8",
      resourceInstanceCount: 2,
      outputs: {
        greeting: { value: "hello", type: "string", sensitive: false },
        secret: { value: "s3cr3t", type: "string", sensitive: true },
      },
    });
  });

  it("rejects other formats and malformed fields", () => {
    expect(() => parseStateJson({ ...STATE, version: 3 })).toThrow(InvalidStateJsonError);
    expect(() => parseStateJson({ ...STATE, serial: -1 })).toThrow(/serial/);
    expect(() => parseStateJson({ ...STATE, lineage: 5 })).toThrow(/lineage/);
    expect(() => parseStateJson("{")).toThrow(/not JSON/);
  });
});
