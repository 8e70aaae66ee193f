import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { REJECTION_DESCRIPTIONS, totalRejected } from "../core/rejections.js";
import type { LevelCount, TenantDistribution } from "../steps/results.js";
import type { RunReport, TenantReport } from "./summary.js";

const escape = (text: unknown) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

interface ChartSpec {
  id: string;
  title: string;
  levels: number[];
  before: number[] | undefined;
  after: number[];
}

/** One chart per school year and alt score: students per performance level, before and after. */
function chartsOf(tenant: string, distribution: TenantDistribution): ChartSpec[] {
  const keyOf = (c: LevelCount) => `${c.schoolYear}/${c.subjectScoreId}`;
  const groups = [...new Set([...(distribution.before ?? []), ...distribution.after].map(keyOf))].sort();
  return groups.map((key, index) => {
    const [year, score] = key.split("/");
    const inGroup = (counts: LevelCount[]) => counts.filter((c) => keyOf(c) === key);
    const levels = [
      ...new Set([...inGroup(distribution.before ?? []), ...inGroup(distribution.after)].map((c) => c.level)),
    ].sort();
    const studentsAt = (counts: LevelCount[]) =>
      levels.map((level) => inGroup(counts).find((c) => c.level === level)?.students ?? 0);
    return {
      id: `chart-${tenant}-${index}`,
      title: `School year ${year}, alt score ${score}`,
      levels,
      before: distribution.before ? studentsAt(distribution.before) : undefined,
      after: studentsAt(distribution.after),
    };
  });
}

function tenantSection(
  tenant: TenantReport,
  distribution: TenantDistribution | undefined,
): { html: string; charts: ChartSpec[] } {
  const charts = distribution ? chartsOf(tenant.tenant, distribution) : [];
  const rowsBefore = tenant.kept + tenant.replaced;
  const checks = [
    ...tenant.checks.map((c) => ({
      name: c.name,
      ok: c.ok,
      detail: `expected ${c.expected}, got ${c.actual}`,
      examples: [] as string[],
    })),
    ...(tenant.verification?.checks ?? []),
  ];
  const rejected = tenant.rejected
    .map(
      (r) =>
        `<li>${escape(r.count)}: ${escape(REJECTION_DESCRIPTIONS[r.reason])} (e.g. ${escape(r.exampleIds.join(", "))})</li>`,
    )
    .join("");
  return {
    charts,
    html: `
<section class="tenant">
  <h2>${escape(tenant.tenant)} <span class="${tenant.status}">${escape(tenant.status)}</span></h2>
  ${tenant.error ? `<p class="error">${escape(tenant.error)}</p>` : ""}
  <table class="counts">
    <tr><th>rows before</th><th>rows after</th><th>extracted</th><th>loaded</th><th>replaced</th><th>kept</th><th>rejected</th></tr>
    <tr><td>${rowsBefore}</td><td>${tenant.finalCount}</td><td>${tenant.extracted}</td><td>${tenant.loaded}</td>
        <td>${tenant.replaced}</td><td>${tenant.kept}</td><td>${totalRejected(tenant.rejected)}</td></tr>
  </table>
  ${rejected ? `<ul class="rejected">${rejected}</ul>` : ""}
  <table class="checks">
    <tr><th>check</th><th>result</th><th>detail</th></tr>
    ${checks
      .map(
        (c) =>
          `<tr><td>${escape(c.name)}</td><td class="${c.ok ? "pass" : "fail"}">${c.ok ? "pass" : "FAIL"}</td>` +
          `<td>${escape(c.detail)}${c.examples.length ? `<br><small>${escape(c.examples.join("; "))}</small>` : ""}</td></tr>`,
      )
      .join("\n    ")}
  </table>
  <h3>Students per performance level${distribution?.before ? ", before and after the back-fill" : " after the back-fill"}</h3>
  <div class="charts">${charts.map((c) => `<figure><canvas id="${escape(c.id)}" width="360" height="220"></canvas></figure>`).join("")}</div>
</section>`,
  };
}

/**
 * A self-contained HTML report of a run: Chart.js is inlined, so the file opens anywhere without
 * a network. `window.rdwChartsRendered` tells a test how many charts were drawn.
 */
export async function renderHtmlReport(
  report: RunReport,
  distributions: readonly TenantDistribution[],
): Promise<string> {
  // The package exports no path to its browser bundle; it sits next to the entry point.
  const entry = createRequire(import.meta.url).resolve("chart.js");
  const chartJs = await readFile(join(dirname(entry), "chart.umd.min.js"), "utf8");
  const sections = report.tenants.map((tenant) =>
    tenantSection(
      tenant,
      distributions.find((d) => d.tenant === tenant.tenant),
    ),
  );
  const charts = sections.flatMap((section) => section.charts);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rdw-backfill run ${escape(report.runId)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
  th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
  .pass, .succeeded { color: #1a7f37; } .fail, .failed, .error { color: #cf222e; font-weight: bold; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; border: 1px solid #eee; padding: 0.5rem; }
</style>
</head>
<body>
<h1>rdw-backfill run ${escape(report.runId)}: ${report.ok ? '<span class="pass">succeeded</span>' : '<span class="fail">failed</span>'}</h1>
<p>Exams updated since ${escape(report.since)} UTC. Started ${escape(report.startedAt)}, finished ${escape(report.finishedAt)}.</p>
${sections.map((section) => section.html).join("\n")}
<script>${chartJs}</script>
<script id="chart-data" type="application/json">${scriptJson(charts)}</script>
<script>
  const specs = JSON.parse(document.getElementById("chart-data").textContent);
  let rendered = 0;
  for (const spec of specs) {
    const datasets = [];
    if (spec.before) datasets.push({ label: "before", data: spec.before, backgroundColor: "#9aa5b1" });
    datasets.push({ label: "after", data: spec.after, backgroundColor: "#2f6fdd" });
    new Chart(document.getElementById(spec.id), {
      type: "bar",
      data: { labels: spec.levels.map((level) => "level " + level), datasets },
      options: { animation: false, responsive: false, plugins: { title: { display: true, text: spec.title } } },
    });
    rendered++;
  }
  window.rdwChartsRendered = rendered;
</script>
</body>
</html>
`;
}
