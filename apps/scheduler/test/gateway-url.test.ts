import { gatewayBaseUrl, loadSchedulerEnv } from "../src/env";

/** Where the scheduler tells workers to reach the gateway's job URLs. */
describe("gatewayBaseUrl", () => {
  const url = (env: Record<string, string>) => gatewayBaseUrl(loadSchedulerEnv(env));

  it("prefers TARMAC_GATEWAY_URL, without a trailing slash", () => {
    expect(url({ TARMAC_GATEWAY_URL: "http://gw.internal:9000/", TARMAC_INTERNAL_PORT: "8083", TARMAC_PUBLIC_URL: "https://tarmac.example" })).toBe("http://gw.internal:9000");
  });

  it("uses the gateway's internal listener when TARMAC_INTERNAL_PORT is set, whatever the public URL", () => {
    expect(url({ TARMAC_INTERNAL_PORT: "8083", TARMAC_PUBLIC_URL: "https://localhost:8443" })).toBe("http://127.0.0.1:8083");
    expect(url({ TARMAC_INTERNAL_PORT: "8083", TARMAC_INTERNAL_HOST: "10.0.0.5" })).toBe("http://10.0.0.5:8083");
  });

  it("turns a wildcard bind address into a loopback address, and brackets IPv6", () => {
    expect(url({ TARMAC_INTERNAL_PORT: "8083", TARMAC_INTERNAL_HOST: "0.0.0.0" })).toBe("http://127.0.0.1:8083");
    expect(url({ TARMAC_INTERNAL_PORT: "8083", TARMAC_INTERNAL_HOST: "::" })).toBe("http://[::1]:8083");
    expect(url({ TARMAC_INTERNAL_PORT: "8083", TARMAC_INTERNAL_HOST: "fd00::5" })).toBe("http://[fd00::5]:8083");
  });

  it("falls back to the public URL, then to the gateway's default address", () => {
    expect(url({ TARMAC_PUBLIC_URL: "https://tarmac.example/" })).toBe("https://tarmac.example");
    expect(url({})).toBe("http://127.0.0.1:8080");
  });

  it("refuses an internal port that is not a port", () => {
    expect(() => loadSchedulerEnv({ TARMAC_INTERNAL_PORT: "eighty" })).toThrow(/TARMAC_INTERNAL_PORT/);
  });
});
