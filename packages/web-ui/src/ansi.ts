// Terraform's colours (SGR escape sequences) as segments with class names; every other escape
// sequence and the log's STX/ETX framing bytes are dropped. The text is rendered by React as text
// (ansi-text.tsx), never as HTML.

interface Style {
  fg?: number;
  bold?: boolean;
  dim?: boolean;
  underline?: boolean;
}

const SGR = /\x1b\[([0-9;]*)m/g;
const OTHER_ESCAPES = /\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b[()][A-Z0-9]|[\x02\x03]/g;

function apply(style: Style, codes: number[]): Style {
  let s = { ...style };
  if (codes.length === 0) codes = [0];
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) s = {};
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) {
      s.bold = false;
      s.dim = false;
    } else if (c === 24) s.underline = false;
    else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) s.fg = c;
    else if (c === 39) delete s.fg;
    else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4;
  }
  return s;
}

function className(s: Style): string {
  return [s.fg !== undefined ? `ansi-${s.fg}` : "", s.bold ? "ansi-bold" : "", s.dim ? "ansi-dim" : "", s.underline ? "ansi-underline" : ""]
    .filter(Boolean)
    .join(" ");
}

/** Splits coloured text into segments: [className, text]. */
export function ansiSegments(text: string): [string, string][] {
  const out: [string, string][] = [];
  let style: Style = {};
  let last = 0;
  SGR.lastIndex = 0;
  for (let m = SGR.exec(text); m; m = SGR.exec(text)) {
    if (m.index > last) out.push([className(style), text.slice(last, m.index).replace(OTHER_ESCAPES, "")]);
    style = apply(style, (m[1] ?? "").split(";").filter(Boolean).map(Number));
    last = SGR.lastIndex;
  }
  if (last < text.length) out.push([className(style), text.slice(last).replace(OTHER_ESCAPES, "")]);
  return out.filter(([, t]) => t.length > 0);
}
