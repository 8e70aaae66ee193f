import type { AltScoreName } from "../plan/actions.js";

/**
 * What the report calls an alt score: as the warehouse names it, with its id (which the tables
 * hold), e.g. `ELA Reading (sum, 19)`; `alt score 19` when the journal has no name for it
 * (journals written before names were kept, or a warehouse that could not say).
 */
export function altScoreLabel(id: number, names: readonly AltScoreName[] | undefined): string {
  const name = names?.find((candidate) => candidate.id === id);
  if (!name) return `alt score ${id}`;
  const title = [name.subjectCode, name.code].filter(Boolean).join(" ");
  return `${title} (${name.asmtTypeCode ? `${name.asmtTypeCode}, ${id}` : id})`;
}
