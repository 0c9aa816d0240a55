export interface WebUiAsset {
  contents: Buffer;
  contentType: string;
}
export interface WebUiBundle {
  indexHtml: string;
  /** Content-hashed file names (served under /app/assets/) → bytes. */
  assets: Map<string, WebUiAsset>;
}
export function buildWebUi(options?: { write?: boolean; minify?: boolean }): Promise<WebUiBundle>;
export function readBuiltWebUi(dir?: string): WebUiBundle | null;
export const distDir: string;
