import Table from "cli-table3";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { REJECTION_DESCRIPTIONS, totalRejected } from "../core/rejections.js";
import type { TenantDistribution } from "../steps/results.js";
import { formatCount, formatDuration } from "./format.js";
import { renderHtmlReport } from "./html.js";
import { runSummaryLine } from "./overview.js";
import type { RunReport, TenantReport } from "./summary.js";

const HEADERS = [
  "tenant",
  "status",
  "extracted",
  "rejected",
  "loaded",
  "replaced",
  "kept",
  "final",
  "duration",
];

function cells(report: TenantReport): string[] {
  return [
    report.tenant,
    report.status,
    count(report.extracted),
    count(totalRejected(report.rejected)),
    count(report.loaded),
    count(report.replaced),
    count(report.kept),
    count(report.finalCount),
    formatDuration(report.durationMs),
  ];
}

const count = formatCount;

/** Details below the table: rejections by reason with example ids, failed checks and errors. */
function details(report: RunReport): string[] {
  const lines: string[] = [];
  for (const tenant of report.tenants) {
    for (const rejection of tenant.rejected) {
      lines.push(
        `${tenant.tenant}: ${count(rejection.count)} rejected: ${REJECTION_DESCRIPTIONS[rejection.reason]} ` +
          `(exam_score ids e.g. ${rejection.exampleIds.join(", ")})`,
      );
    }
    for (const check of tenant.checks.filter((c) => !c.ok)) {
      lines.push(
        `${tenant.tenant}: check failed: ${check.name}: expected ${count(check.expected)}, got ${count(check.actual)}`,
      );
    }
    for (const warning of tenant.warnings ?? []) lines.push(`${tenant.tenant}: warning: ${warning}`);
    for (const error of tenant.loadErrors ?? []) {
      lines.push(
        `${tenant.tenant}: COPY rejected line ${error.line}, column ${error.column}: ${error.reason} (value ${JSON.stringify(error.value)})`,
      );
    }
    if (tenant.error) lines.push(`${tenant.tenant}: ${tenant.status}: ${tenant.error}`);
    if (tenant.backupTable)
      lines.push(`${tenant.tenant}: backup in ${tenant.olapSchema}.${tenant.backupTable}`);
  }
  return lines;
}

export function renderSummaryTable(report: RunReport): string {
  const table = new Table({ head: HEADERS, style: { head: [], border: [] } });
  for (const tenant of report.tenants) table.push(cells(tenant));
  const outcome = report.ok ? "succeeded" : "FAILED";
  return [
    `Run ${report.runId} ${outcome}`,
    table.toString(),
    runSummaryLine(report),
    ...details(report),
  ].join("\n");
}

export function renderSummaryMarkdown(report: RunReport): string {
  const row = (values: string[]) => `| ${values.join(" | ")} |`;
  return [
    `# rdw-backfill run ${report.runId}`,
    "",
    `Started ${report.startedAt}, finished ${report.finishedAt}; exams updated since ${report.since} UTC.`,
    `Outcome: **${report.ok ? "succeeded" : "failed"}**. ${runSummaryLine(report)}.`,
    "",
    row(HEADERS),
    row(HEADERS.map(() => "---")),
    ...report.tenants.map((tenant) => row(cells(tenant))),
    "",
    ...details(report).map((line) => `- ${line}`),
    "",
  ].join("\n");
}

/** Writes `summary.json`, `summary.md` and the self-contained `report.html`; returns the folder. */
export async function writeReportFiles(
  report: RunReport,
  dir: string,
  distributions: readonly TenantDistribution[] = [],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "summary.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(join(dir, "summary.md"), renderSummaryMarkdown(report));
  await writeFile(join(dir, "report.html"), await renderHtmlReport(report, distributions));
  return dir;
}
