import { totalRejected } from "../core/rejections.js";
import { formatCount, formatDuration } from "./format.js";
import { escapeHtml as escape, sectionId } from "./html-text.js";
import {
  checkCounts,
  type Outcome,
  OUTCOME_TEXT,
  outcomeOf,
  overviewOrder,
  warningCount,
} from "./outcome.js";
import type { RunReport, TenantReport } from "./summary.js";

/** One line: tenants by outcome, rows loaded in all, and how long the run took. */
export function runSummaryLine(report: RunReport): string {
  const by = (outcome: Outcome) => report.tenants.filter((tenant) => outcomeOf(tenant) === outcome).length;
  const succeeded = by("succeeded") + by("warned");
  const loaded = report.tenants.reduce((sum, tenant) => sum + tenant.loaded, 0);
  const took = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return (
    `${formatCount(report.tenants.length)} tenant${report.tenants.length === 1 ? "" : "s"}: ${formatCount(succeeded)} succeeded` +
    (by("warned") ? ` (${formatCount(by("warned"))} with warnings)` : "") +
    `, ${formatCount(by("failed"))} failed, ${formatCount(by("skipped"))} skipped; ` +
    `${formatCount(loaded)} rows loaded in all; the run took ${Number.isFinite(took) ? formatDuration(took) : "?"}`
  );
}

const HEADERS = [
  "tenant",
  "status",
  "rows before",
  "rows after",
  "loaded",
  "replaced",
  "rejected",
  "checks ok",
  "checks failed",
  "warnings",
  "duration",
  "note",
];

/** Why a tenant failed or was skipped, else its first warning; cut short (the whole text is its title). */
function noteOf(tenant: TenantReport): string {
  const note = tenant.error ?? tenant.warnings?.[0] ?? tenant.retries?.[0]?.error ?? "";
  const short = note.length > 90 ? `${note.slice(0, 89)}…` : note;
  return `<td class="note"${short === note ? "" : ` title="${escape(note)}"`}>${escape(short)}</td>`;
}

function overviewRow(tenant: TenantReport): string {
  const outcome = outcomeOf(tenant);
  const checks = checkCounts(tenant);
  const merged = tenant.rowsBefore !== undefined;
  const num = (n: number | undefined, className = "") =>
    `<td class="num${className}">${n === undefined ? "—" : formatCount(n)}</td>`;
  const warnings = warningCount(tenant);
  return (
    `<tr class="row-${outcome}" data-tenant="${escape(tenant.tenant)}">` +
    `<td><a href="#${escape(sectionId(tenant.tenant))}">${escape(tenant.tenant)}</a></td>` +
    `<td class="${outcome}">${OUTCOME_TEXT[outcome]}</td>` +
    num(tenant.rowsBefore) +
    num(merged ? tenant.finalCount : undefined) +
    num(tenant.loaded) +
    num(tenant.replaced) +
    num(totalRejected(tenant.rejected)) +
    num(checks.ok) +
    num(checks.failed, checks.failed ? " fail" : "") +
    num(warnings, warnings ? " warn" : "") +
    `<td class="num">${formatDuration(tenant.durationMs)}</td>` +
    noteOf(tenant) +
    "</tr>"
  );
}

/** The overview the report opens with: the summary line and one row per tenant, linked to its section. */
export function overviewHtml(report: RunReport): string {
  return `
<section id="overview">
  <h2>Overview</h2>
  <p class="summary">${escape(runSummaryLine(report))}</p>
  <table class="overview">
    <thead><tr>${HEADERS.map((header) => `<th>${header}</th>`).join("")}</tr></thead>
    <tbody>
    ${overviewOrder(report.tenants).map(overviewRow).join("\n    ")}
    </tbody>
  </table>
</section>`;
}
