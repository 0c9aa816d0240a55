// Browser tests import this entry only, so other tests never load playwright-core.
export * from "../src/browser";
