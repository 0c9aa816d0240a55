/**
 * Run variable values must be HCL literals, as one would write them in a .tfvars file (runs API:
 * "All values must be expressed as an HCL literal"): a quoted string, a number, true/false/null,
 * or a list/tuple `[...]` or object/map `{...}` of literals. Anything that would need evaluation
 * (references, function calls, operators, string templates) is refused.
 */

export type HclCheck = { ok: true } | { ok: false; reason: string };

class HclSyntaxError extends Error {}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_-]/;

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseDocument(): void {
    this.skipSpace(true);
    this.parseValue();
    this.skipSpace(true);
    if (this.pos < this.src.length) this.fail(`unexpected ${JSON.stringify(this.src[this.pos])} after the value`);
  }

  private fail(message: string, at: number = this.pos): never {
    throw new HclSyntaxError(`${message} at offset ${at}`);
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private skipSpace(newlines: boolean): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) this.pos++;
      else break;
    }
  }

  private parseValue(): void {
    const c = this.peek();
    if (c === undefined) this.fail("expected a value");
    if (c === '"') return this.parseString();
    if (c === "[") return this.parseList();
    if (c === "{") return this.parseObject();
    if (c === "-" || /[0-9]/.test(c)) return this.parseNumber();
    if (IDENT_START.test(c)) {
      const start = this.pos;
      const word = this.parseIdentifier();
      if (word === "true" || word === "false" || word === "null") return;
      this.fail(`${JSON.stringify(word)} is not a literal (references and function calls are not allowed)`, start);
    }
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  private parseIdentifier(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.src.length && IDENT_PART.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private parseNumber(): void {
    const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.src.slice(this.pos));
    if (!m) this.fail("malformed number");
    this.pos += m[0].length;
    const next = this.peek();
    if (next !== undefined && /[A-Za-z0-9_.]/.test(next)) this.fail("malformed number");
  }

  private parseString(): void {
    this.pos++; // opening quote
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "\n") this.fail("unterminated string");
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === "\\") {
        const e = this.src[this.pos + 1];
        if (e === undefined) this.fail("unterminated escape");
        if ('nrt"\\'.includes(e)) this.pos += 2;
        else if (e === "u") this.hexEscape(4);
        else if (e === "U") this.hexEscape(8);
        else this.fail(`invalid escape \\${e}`);
        continue;
      }
      if ((c === "$" || c === "%") && this.src[this.pos + 1] === c && this.src[this.pos + 2] === "{") {
        // `$${` and `%%{` are the escaped, literal forms of a template opener.
        this.pos += 3;
        continue;
      }
      if ((c === "$" || c === "%") && this.src[this.pos + 1] === "{") this.fail("string templates are not literals");
      this.pos++;
    }
  }

  private hexEscape(digits: number): void {
    const hex = this.src.slice(this.pos + 2, this.pos + 2 + digits);
    if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) this.fail("invalid unicode escape");
    this.pos += 2 + digits;
  }

  private parseList(): void {
    this.pos++;
    this.skipSpace(true);
    if (this.peek() === "]") {
      this.pos++;
      return;
    }
    for (;;) {
      this.parseValue();
      this.skipSpace(true);
      const c = this.peek();
      if (c === ",") {
        this.pos++;
        this.skipSpace(true);
        if (this.peek() === "]") {
          this.pos++;
          return;
        }
        continue;
      }
      if (c === "]") {
        this.pos++;
        return;
      }
      this.fail("expected ',' or ']' in list");
    }
  }

  private parseObject(): void {
    this.pos++;
    this.skipSpace(true);
    for (;;) {
      const c = this.peek();
      if (c === "}") {
        this.pos++;
        return;
      }
      if (c === '"') this.parseString();
      else if (c !== undefined && IDENT_START.test(c)) this.parseIdentifier();
      else this.fail("expected an object key");
      this.skipSpace(false);
      const sep = this.peek();
      if (sep !== "=" && sep !== ":") this.fail("expected '=' or ':' after an object key");
      this.pos++;
      this.skipSpace(true);
      this.parseValue();
      this.skipSpace(false);
      const after = this.peek();
      if (after === "," || after === "\n") {
        this.pos++;
        this.skipSpace(true);
      } else if (after !== "}") {
        this.fail("expected ',', a newline or '}' after an object value");
      }
    }
  }
}

export function checkHclLiteral(value: string): HclCheck {
  try {
    new Parser(value).parseDocument();
    return { ok: true };
  } catch (err) {
    if (err instanceof HclSyntaxError) return { ok: false, reason: err.message };
    throw err;
  }
}

export function isHclLiteral(value: string): boolean {
  return checkHclLiteral(value).ok;
}
