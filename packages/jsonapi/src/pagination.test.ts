import { paginate, paginateNextPrev, parsePage } from "./pagination";
import { parseInclude, parseListParam } from "./query";

describe("parsePage", () => {
  it("defaults to the first page of 20", () => {
    expect(parsePage({})).toEqual({ number: 1, size: 20, offset: 0 });
  });
  it("reads the nested form express produces and the flat form", () => {
    expect(parsePage({ page: { number: "3", size: "10" } })).toEqual({ number: 3, size: 10, offset: 20 });
    expect(parsePage({ "page[number]": "2", "page[size]": "5" })).toEqual({ number: 2, size: 5, offset: 5 });
  });
  it("clamps page[size] over 100 to 100 and ignores nonsense", () => {
    expect(parsePage({ page: { size: "500" } }).size).toBe(100);
    expect(parsePage({ page: { size: "-3", number: "abc" } })).toEqual({ number: 1, size: 20, offset: 0 });
    expect(parsePage({ page: { number: "0" } }).number).toBe(1);
  });
});

describe("paginate", () => {
  it("links every page with percent-encoded brackets and keeps other parameters", () => {
    const { meta, links } = paginate({ number: 2, size: 10, offset: 10 }, 35, "http://h/api/v2/x", { "filter[status]": "applied" });
    expect(meta.pagination).toEqual({
      "current-page": 2, "page-size": 10, "prev-page": 1, "next-page": 3, "total-pages": 4, "total-count": 35,
    });
    expect(links.next).toBe("http://h/api/v2/x?filter%5Bstatus%5D=applied&page%5Bnumber%5D=3&page%5Bsize%5D=10");
    expect(links.last).toContain("page%5Bnumber%5D=4");
  });
  it("answers a page past the end with no next page and the last page as prev", () => {
    const { meta } = paginate({ number: 9, size: 20, offset: 160 }, 25, "http://h/x");
    expect(meta.pagination["next-page"]).toBeNull();
    expect(meta.pagination["prev-page"]).toBe(2);
    expect(meta.pagination["total-pages"]).toBe(2);
  });
  it("counts an empty collection as one empty page", () => {
    const { meta, links } = paginate({ number: 1, size: 20, offset: 0 }, 0, "http://h/x");
    expect(meta.pagination["total-pages"]).toBe(1);
    expect(meta.pagination["prev-page"]).toBeNull();
    expect(links.prev).toBeNull();
  });
});

describe("paginateNextPrev", () => {
  it("gives no totals, as the organization run list", () => {
    const { meta, links } = paginateNextPrev({ number: 1, size: 20, offset: 0 }, true, "http://h/x");
    expect(meta.pagination).not.toHaveProperty("total-count");
    expect(meta.pagination["next-page"]).toBe(2);
    expect(links).not.toHaveProperty("last");
  });
});

describe("query parameters", () => {
  it("accepts unknown include values and both spellings", () => {
    expect([...parseInclude({ include: "task_stages,created-by,bogus" })]).toEqual(["task_stages", "created_by", "bogus"]);
  });
  it("reads comma-separated filters in nested and flat form", () => {
    expect(parseListParam({ filter: { status: "applied,errored" } }, "filter", "status")).toEqual(["applied", "errored"]);
    expect(parseListParam({ "filter[source]": "tfe-api" }, "filter", "source")).toEqual(["tfe-api"]);
    expect(parseListParam({}, "filter", "status")).toBeUndefined();
  });
});
