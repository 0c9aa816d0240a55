import { randomBytes } from "node:crypto";
import type { Response } from "express";

/**
 * The few server-rendered pages of sign-in (login, the `terraform login` approval): plain HTML
 * with one inline style sheet, nothing loaded from anywhere, no script. Every page is sent
 * no-store, never framed (the approval button must not be clickjacked), and with a Content
 * Security Policy allowing only its own style and forms posting here (or, after the approval
 * page, redirecting to terraform's loopback callback).
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f3f4f6}
main{max-width:26rem;margin:3rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem}
h1{font-size:1.4rem;margin:0 0 1rem}
h2{font-size:1rem;margin:1.25rem 0 .5rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.5rem .6rem;font:inherit;border:1px solid #8c959f;border-radius:6px}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer;margin-top:1rem}
button.secondary{background:#fff;color:#1b1f24;border-color:#8c959f}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:.5rem .75rem;margin:0 0 1rem}
.notice{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:.5rem .75rem;margin:0 0 1rem}
.or{margin:1.25rem 0 0;color:#57606a;text-align:center}
.actions{display:flex;gap:.75rem;flex-wrap:wrap}
dl{margin:0}dt{font-weight:600}dd{margin:0 0 .5rem;overflow-wrap:anywhere}
@media (max-width:30rem){main{margin:1rem auto}.card{padding:1rem}}
`;

export function sendPage(res: Response, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString("base64");
  res.set({
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self' http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'`,
  });
  res
    .status(status)
    .send(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
        `<title>${escapeHtml(title)} · Tarmac</title><style nonce="${nonce}">${STYLE}</style></head>` +
        `<body><main><div class="card">${body}</div></main></body></html>`,
    );
}

export function hiddenField(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}
