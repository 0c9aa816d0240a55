import type { ReactNode } from "react";
import { ansiSegments } from "./ansi";

export function AnsiText({ text }: { text: string }): ReactNode {
  return ansiSegments(text).map(([cls, t], i) =>
    cls ? (
      <span key={i} className={cls}>
        {t}
      </span>
    ) : (
      <span key={i}>{t}</span>
    ),
  );
}
