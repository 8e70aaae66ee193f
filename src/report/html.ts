import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TenantDistribution } from "../steps/results.js";
import { escapeHtml as escape, scriptJson } from "./html-text.js";
import { overviewHtml } from "./overview.js";
import type { RunReport } from "./summary.js";
import { tenantSection } from "./tenant-section.js";

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
  th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  table.overview td { white-space: nowrap; } table.overview td.note { white-space: normal; font-size: 0.85rem; min-width: 22rem; }
  .pass, .succeeded { color: #1a7f37; } .fail, .failed, .error { color: #cf222e; font-weight: bold; }
  .warned, .warn { color: #9a6700; font-weight: bold; } .skipped { color: #6e7781; }
  table.overview tbody tr:nth-child(even) { background: #f6f8fa; }
  table.overview tbody tr.row-failed { background: #ffebe9; } table.overview tbody tr.row-warned { background: #fff8c5; }
  a.top { font-size: 0.8rem; font-weight: normal; margin-left: 1rem; }
  section.tenant { border-top: 2px solid #d0d7de; margin-top: 2rem; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; border: 1px solid #eee; padding: 0.5rem; }`;

/**
 * Draws the charts a few at a time, so that the page (the overview first) shows at once and
 * stays responsive while hundreds of charts are drawn; `window.rdwChartsRendered` says how
 * many were drawn, once all are (a test waits for it).
 */
const DRAW_CHARTS = `
  const specs = JSON.parse(document.getElementById("chart-data").textContent);
  const draw = (spec) => {
    const datasets = [
      { label: "before", data: spec.before, backgroundColor: "#9aa5b1" },
      { label: "after", data: spec.after, backgroundColor: "#2f6fdd" },
    ];
    new Chart(document.getElementById(spec.id), {
      type: "bar",
      data: { labels: spec.levels.map((level) => "level " + level), datasets },
      options: { locale: "en-US", animation: false, responsive: false, plugins: { title: { display: true, text: spec.title } } },
    });
  };
  let rendered = 0;
  const drawFrom = (start) => {
    const end = Math.min(start + 24, specs.length);
    for (let i = start; i < end; i++, rendered++) draw(specs[i]);
    if (end < specs.length) setTimeout(() => drawFrom(end));
    else window.rdwChartsRendered = rendered;
  };
  drawFrom(0);`;

/**
 * A self-contained HTML report of a run: the overview (every tenant, those that failed or warned
 * first, each linked to its section), then a section per tenant. Chart.js is inlined, so the
 * file opens anywhere without a network.
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
<style>${STYLE}
</style>
</head>
<body>
<h1>rdw-backfill run ${escape(report.runId)}: ${report.ok ? '<span class="pass">succeeded</span>' : '<span class="fail">failed</span>'}</h1>
<p>Exams updated since ${escape(report.since)} UTC. Started ${escape(report.startedAt)}, finished ${escape(report.finishedAt)}.</p>
${report.migrateError ? `<p class="error">${escape(report.migrateError)}</p>` : ""}
${overviewHtml(report)}
${sections.map((section) => section.html).join("\n")}
<script>${chartJs}</script>
<script id="chart-data" type="application/json">${scriptJson(charts)}</script>
<script>${DRAW_CHARTS}
</script>
</body>
</html>
`;
}
