import type { OlderMissing, TenantVerification } from "../steps/results.js";
import { formatCount } from "./format.js";

/** The verify checks as the operator reads them. */
export function renderVerification(results: readonly TenantVerification[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(
      `Tenant ${result.tenant} (${result.olapSchema}): ${result.ok ? "PASS" : "FAIL"}${result.error ? `: ${result.error}` : ""}`,
    );
    for (const check of result.checks) {
      lines.push(`  ${check.ok ? "pass" : "FAIL"}  ${check.name}: ${check.detail}`);
      for (const example of check.examples) lines.push(`        ${example}`);
    }
    if (result.older) lines.push(...renderOlder(result.older));
  }
  return lines.join("\n") + "\n";
}

/**
 * Information, not a check: exams older than the window whose alt scores are missing, as a
 * runbook run by hand leaves them (its `DELETE … WHERE true` removed rows its extract never
 * brought back).
 */
function renderOlder(older: OlderMissing): string[] {
  if (older.bySchoolYear.length === 0)
    return ["  info  older exams: none older than the window lacks the alt scores the warehouse has"];
  const exams = older.bySchoolYear.reduce((sum, year) => sum + year.exams, 0);
  return [
    `  info  older exams: ${formatCount(exams)} OLAP exams updated before the window have alt scores in the warehouse ` +
      "but none in exam_alt_score (as after the runbook's DELETE … WHERE true):",
    ...older.bySchoolYear.map(
      (year) =>
        `        school year ${year.schoolYear}: ${formatCount(year.exams)} exams, ${formatCount(year.rows)} alt score rows`,
    ),
    `        run with --since ${older.since} to bring them back`,
  ];
}
