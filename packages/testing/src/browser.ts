import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (no downloaded browser): headless, no network
 * beyond what a page asks for, and a fresh profile per launch so tests share nothing.
 */
export const CHROMIUM_PATH = process.env.TARMAC_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface LaunchedBrowser {
  browser: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context on a throwaway profile directory (Chromium's own --user-data-dir). */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<LaunchedBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "tarmac-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    ...options,
  });
  return {
    browser: context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A plain browser for tests that open several isolated contexts (two users side by side). */
export async function launchChromiumBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
  return { browser, close: () => browser.close().catch(() => undefined) };
}
