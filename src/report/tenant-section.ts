import { REJECTION_DESCRIPTIONS, totalRejected } from "../core/rejections.js";
import type { LevelCount, TenantDistribution } from "../steps/results.js";
import { formatCount, formatCountsIn } from "./format.js";
import { escapeHtml as escape, sectionId } from "./html-text.js";
import { altScoreLabel } from "./labels.js";
import { OUTCOME_TEXT, outcomeOf } from "./outcome.js";
import type { TenantReport } from "./summary.js";

export interface ChartSpec {
  id: string;
  title: string;
  levels: number[];
  before: number[];
  after: number[];
}

/** One chart per school year and alt score: alt scores per performance level, before and after the replace. */
function chartsOf(tenant: TenantReport, distribution: TenantDistribution): ChartSpec[] {
  const keyOf = (c: LevelCount) => `${c.schoolYear}/${c.subjectScoreId}`;
  const groups = [...new Set([...distribution.before, ...distribution.after].map(keyOf))].sort();
  return groups.map((key, index) => {
    const [year, score] = key.split("/");
    const inGroup = (counts: LevelCount[]) => counts.filter((c) => keyOf(c) === key);
    const levels = [
      ...new Set([...inGroup(distribution.before), ...inGroup(distribution.after)].map((c) => c.level)),
    ].sort();
    const scoresAt = (counts: LevelCount[]) =>
      levels.map((level) => inGroup(counts).find((c) => c.level === level)?.scores ?? 0);
    return {
      id: `chart-${tenant.tenant}-${index}`,
      title: `School year ${year}, ${altScoreLabel(Number(score), tenant.altScores)}`,
      levels,
      before: scoresAt(distribution.before),
      after: scoresAt(distribution.after),
    };
  });
}

const list = (className: string, items: readonly string[]) =>
  items.length ? `<ul class="${className}">${items.map((item) => `<li>${item}</li>`).join("")}</ul>` : "";

/** A tenant's section: counts, rows not loaded, warnings, every check, and the charts. */
export function tenantSection(
  tenant: TenantReport,
  distribution: TenantDistribution | undefined,
): { html: string; charts: ChartSpec[] } {
  const charts = distribution ? chartsOf(tenant, distribution) : [];
  const checks = [
    ...tenant.checks.map((c) => ({
      name: c.name,
      ok: c.ok,
      detail: `expected ${formatCount(c.expected)}, got ${formatCount(c.actual)}`,
      examples: [] as string[],
    })),
    ...(tenant.verification?.checks ?? []).map((c) => ({ ...c, detail: formatCountsIn(c.detail) })),
  ];
  const rejected = tenant.rejected.map(
    (r) =>
      `${formatCount(r.count)}: ${escape(REJECTION_DESCRIPTIONS[r.reason])} (e.g. ${escape(r.exampleIds.join(", "))})`,
  );
  const warnings = [
    ...(tenant.warnings ?? []).map((warning) => escape(warning)),
    ...(tenant.retries ?? []).map((retry) => `retried after ${escape(retry.error)} (${escape(retry.at)})`),
  ];
  const count = (n: number | undefined) => `<td class="num">${n === undefined ? "—" : formatCount(n)}</td>`;
  const merged = tenant.rowsBefore !== undefined;
  const outcome = outcomeOf(tenant);
  return {
    charts,
    html: `
<section class="tenant" id="${escape(sectionId(tenant.tenant))}">
  <h2>${escape(tenant.tenant)} <span class="${outcome}">${OUTCOME_TEXT[outcome]}</span> <a class="top" href="#overview">overview ↑</a></h2>
  ${tenant.error ? `<p class="error">${escape(tenant.error)}</p>` : ""}
  <table class="counts">
    <tr><th>rows before</th><th>rows after</th><th>extracted</th><th>loaded</th><th>replaced</th><th>kept</th><th>rejected</th></tr>
    <tr>${count(tenant.rowsBefore)}${count(merged ? tenant.finalCount : undefined)}${count(tenant.extracted)}${count(tenant.loaded)}${count(tenant.replaced)}${count(tenant.kept)}${count(totalRejected(tenant.rejected))}</tr>
  </table>
  ${list("rejected", rejected)}
  ${warnings.length ? `<h3>Warnings</h3>${list("warnings", warnings)}` : ""}
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
  ${
    charts.length
      ? `<h3>Alt scores per performance level, before and after the back-fill</h3>
  <div class="charts">${charts.map((c) => `<figure><canvas id="${escape(c.id)}" width="360" height="220"></canvas></figure>`).join("")}</div>`
      : ""
  }
</section>`,
  };
}
