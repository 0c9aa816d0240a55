/** Query-string pagination: page[number] (default 1), page[size] (default 20, at most 100). */
export interface Page {
  number: number;
  size: number;
  offset: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function positiveInt(raw: unknown, fallback: number): number {
  if (typeof raw !== "string" || !/^\d+$/.test(raw.trim())) return fallback;
  const n = Number.parseInt(raw, 10);
  return n >= 1 ? n : fallback;
}

/**
 * Reads `page[number]` and `page[size]` from an express query (`qs` nests brackets:
 * `{page: {number, size}}`; flat keys also accepted). Out-of-range sizes are
 * clamped as HCP does (over 100 → 100), never rejected.
 */
export function parsePage(query: Record<string, unknown>): Page {
  const nested = (query.page ?? {}) as Record<string, unknown>;
  const number = positiveInt(nested.number ?? query["page[number]"], 1);
  const size = Math.min(positiveInt(nested.size ?? query["page[size]"], DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  return { number, size, offset: (number - 1) * size };
}

export interface PaginationMeta {
  "current-page": number;
  "page-size": number;
  "prev-page": number | null;
  "next-page": number | null;
  "total-pages"?: number;
  "total-count"?: number;
}

function pageUrl(baseUrl: string, query: Record<string, string>, number: number, size: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (k !== "page[number]" && k !== "page[size]") params.set(k, v);
  }
  params.set("page[number]", String(number));
  params.set("page[size]", String(size));
  return `${baseUrl}?${params.toString()}`;
}

/** Pagination with totals: meta.pagination and self/first/prev/next/last links. */
export function paginate(
  page: Page,
  totalCount: number,
  baseUrl: string,
  query: Record<string, string> = {},
): { meta: { pagination: PaginationMeta }; links: Record<string, string | null> } {
  const totalPages = Math.max(1, Math.ceil(totalCount / page.size));
  const prev = page.number > 1 ? Math.min(page.number - 1, totalPages) : null;
  const next = page.number < totalPages ? page.number + 1 : null;
  const url = (n: number) => pageUrl(baseUrl, query, n, page.size);
  return {
    meta: {
      pagination: {
        "current-page": page.number,
        "page-size": page.size,
        "prev-page": prev,
        "next-page": next,
        "total-pages": totalPages,
        "total-count": totalCount,
      },
    },
    links: {
      self: url(page.number),
      first: url(1),
      prev: prev === null ? null : url(prev),
      next: next === null ? null : url(next),
      last: url(totalPages),
    },
  };
}

/**
 * Pagination without totals (the organization run list): the caller fetches
 * size + 1 rows to learn whether a next page exists, so no count runs.
 */
export function paginateNextPrev(
  page: Page,
  hasMore: boolean,
  baseUrl: string,
  query: Record<string, string> = {},
): { meta: { pagination: PaginationMeta }; links: Record<string, string | null> } {
  const prev = page.number > 1 ? page.number - 1 : null;
  const next = hasMore ? page.number + 1 : null;
  const url = (n: number) => pageUrl(baseUrl, query, n, page.size);
  return {
    meta: {
      pagination: { "current-page": page.number, "page-size": page.size, "prev-page": prev, "next-page": next },
    },
    links: { self: url(page.number), prev: prev === null ? null : url(prev), next: next === null ? null : url(next) },
  };
}
