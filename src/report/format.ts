/** How the report writes numbers and durations: one place for the HTML, text and Markdown (counts as everywhere, from core). */

import { formatCount } from "../core/format.js";

export { formatCount };

/**
 * The counts in a sentence the steps wrote (verify's details, which name counts only and keep
 * ids in their examples), with separators: `20294 rows expected` → `20,294 rows expected`.
 */
export const formatCountsIn = (text: string): string =>
  text.replace(/(?<![\w.,])\d{4,}(?![\w.,])/g, (digits) => formatCount(Number(digits)));

/** `0.4 s`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
