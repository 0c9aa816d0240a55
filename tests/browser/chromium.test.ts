import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { launchChromium } from "@tarmac/testing/browser";

// The launcher every browser test uses: Debian's Chromium, a fresh profile, a page that runs script.
describe("Chromium under playwright-core", () => {
  it("loads a local page and runs its script", async () => {
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end("<!doctype html><title>t</title><p id=p></p><script>document.getElementById('p').textContent = String(6 * 7)</script>");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const launched = await launchChromium();
    try {
      const page = await launched.browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      expect(await page.textContent("#p")).toBe("42");
    } finally {
      await launched.close();
      server.close();
    }
  });
});
