"use strict";
// Terminal output of the terraform test double: plain text, diagnostics in terraform's two
// layouts (boxed when colour is on, plain with -no-color), and TF_LOG-style log lines.

const fs = require("node:fs");

class DoubleError extends Error {
  /** An error that terraform would report as a diagnostic: summary plus detail. */
  constructor(summary, detail = "") {
    super(summary);
    this.summary = summary;
    this.detail = detail;
  }
}

class Ui {
  constructor({ color }) {
    this.color = color;
  }

  out(text = "") {
    process.stdout.write(text + "\n");
  }

  /** Terraform emphasises headlines with bold when colour is on; -no-color strips every escape. */
  bold(text) {
    return this.color ? `\x1b[1m${text}\x1b[0m` : text;
  }

  green(text) {
    return this.color ? `\x1b[32m${text}\x1b[0m` : text;
  }

  error(summary, detail) {
    process.stderr.write(this.formatDiagnostic("Error", summary, detail));
  }

  warning(summary, detail) {
    process.stdout.write(this.formatDiagnostic("Warning", summary, detail));
  }

  formatDiagnostic(severity, summary, detail = "") {
    if (!this.color) {
      const body = detail ? `\n${detail}\n` : "";
      return `\n${severity}: ${summary}\n${body}\n`;
    }
    const lines = [`${severity}: ${summary}`, ""];
    if (detail) lines.push(...detail.split("\n"));
    const boxed = lines.map((l) => (l ? `│ ${l}` : "│ "));
    const head = severity === "Error" ? `\x1b[31m╷\x1b[0m` : `\x1b[33m╷\x1b[0m`;
    return `${head}\n${boxed.join("\n")}\n╵\n`;
  }
}

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/** TF_LOG / TF_LOG_PATH: terraform's own log stream, on stderr unless a log path is given. */
class Logger {
  constructor(env) {
    const raw = (env.TF_LOG || "").toUpperCase();
    this.json = raw === "JSON";
    this.threshold = this.json ? 0 : LEVELS.indexOf(raw === "1" ? "TRACE" : raw);
    this.path = env.TF_LOG_PATH || "";
  }

  get enabled() {
    return this.threshold >= 0;
  }

  log(level, message) {
    const rank = LEVELS.indexOf(level);
    if (!this.enabled || rank < this.threshold) return;
    const now = new Date().toISOString();
    const line = this.json
      ? JSON.stringify({ "@level": level.toLowerCase(), "@message": message, "@timestamp": now })
      : `${now} [${level}]${level.length === 4 ? "  " : " "}${message}`;
    if (this.path) fs.appendFileSync(this.path, line + "\n");
    else process.stderr.write(line + "\n");
  }

  trace(message) {
    this.log("TRACE", message);
  }

  debug(message) {
    this.log("DEBUG", message);
  }

  info(message) {
    this.log("INFO", message);
  }
}

module.exports = { DoubleError, Ui, Logger };
