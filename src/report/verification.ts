import type { TenantVerification } from "../steps/results.js";

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
  }
  return lines.join("\n") + "\n";
}
