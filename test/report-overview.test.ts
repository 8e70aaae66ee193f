import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { AltScoreName } from "../src/plan/actions.js";
import { writeReportFiles } from "../src/report/render.js";
import { emptyTenantReport, type RunReport, tenantReport } from "../src/report/summary.js";
import type { TenantJournal } from "../src/run/journal.js";
import type { LevelCount, TenantDistribution } from "../src/steps/results.js";
import { launchChromium } from "./helpers/chromium.js";

/**
 * The report of a deployment of 50 tenants, built from a synthetic journal (no back-fill runs):
 * the overview lists every tenant, those that failed or warned first, each linked to its section.
 */

const SCREENSHOTS = new URL("../../test-artifacts/", import.meta.url).pathname;
const TENANTS = Array.from({ length: 50 }, (_, i) => `T${String(i + 1).padStart(2, "0")}`);
const FAILED = new Set(["T07", "T23", "T41"]);
/** Failed at preflight: never ran, so no journal entry. */
const PREFLIGHT_FAILED = "T44";
const WARNED = new Set(["T12", "T30"]);
const RETRIED = "T35";
const SKIPPED = new Set(["T49", "T50"]);
/** Written before names were kept: its charts fall back to the ids. */
const OLD_JOURNAL = "T05";

const NAMES: AltScoreName[] = [
  { id: 19, code: "Reading", subjectCode: "ELA", asmtTypeCode: "sum" },
  { id: 20, code: "ALT1", subjectCode: "Math", asmtTypeCode: "sum" },
  { id: 21, code: "ALT1", subjectCode: "Math", asmtTypeCode: "ica" },
];
const YEARS = [2019, 2020, 2021, 2022];
/** 4 school years × 3 alt scores. */
const CHARTS_PER_TENANT = YEARS.length * NAMES.length;

function levels(seed: number): LevelCount[] {
  return YEARS.flatMap((schoolYear) =>
    NAMES.flatMap(({ id }) =>
      [1, 2, 3, 4].map((level) => ({
        schoolYear,
        subjectScoreId: id,
        level,
        scores: 1000 + ((seed * 7919 + schoolYear * 31 + id * 17 + level * 1013) % 50_000),
      })),
    ),
  );
}

function journalEntry(id: string, index: number): TenantJournal {
  const loaded = 1_000_000 + index * 12_345;
  const replaced = 200_000 + index * 1_111;
  const liveBefore = 3_000_000 + index * 54_321;
  const failed = FAILED.has(id);
  const skipped = SKIPPED.has(id);
  const verifyChecks = ["completeness", "uniqueness", "orphans", "values", "aggregate report"].map(
    (name, n) => ({
      name: name as "completeness",
      ok: !(failed && n === 0),
      detail: `${12} groups, ${loaded} rows expected for the exams in scope`,
      examples: failed && n === 0 ? ["missing 1234567"] : [],
    }),
  );
  return {
    state: skipped ? "pending" : failed ? "merged" : "verified",
    stagingUri: `s3://rdw/${id.toLowerCase()}/`,
    olapSchema: `reporting_${id.toLowerCase()}`,
    ...(id === OLD_JOURNAL ? {} : { altScores: NAMES }),
    results: skipped
      ? {}
      : {
          extract: {
            rowsRead: loaded + 5_432,
            rowsStaged: loaded + 1_000,
            parts: 0,
            manifestName: "exam_alt_score.manifest",
            sourceRejections: [{ reason: "null_scale_score", count: 4_432, exampleIds: ["50012"] }],
          },
          merge: {
            rowsCopied: loaded + 1_000,
            liveBefore,
            replaced,
            loaded,
            kept: liveBefore - replaced,
            liveAfter: liveBefore - replaced + loaded,
            liveSharingKey: loaded,
            liveEqual: loaded,
            targetRejections: [{ reason: "superseded_exam", count: 1_000, exampleIds: ["60013"] }],
            levels: { before: levels(index), after: levels(index + 1) },
          },
          check: {
            checks: [
              {
                name: "extracted = loaded + rejected",
                expected: loaded + 5_432,
                actual: loaded + 5_432,
                ok: true,
              },
              { name: "final = before - replaced + loaded", expected: 1, actual: 1, ok: true },
            ],
          },
          // A failed verify fails the tenant: its result is the failure's (the merge's charts stay).
          ...(failed
            ? {}
            : {
                verify: {
                  tenant: id,
                  olapSchema: `reporting_${id}`,
                  ok: true,
                  checks: verifyChecks,
                  levels: [],
                },
              }),
        },
    ...(failed
      ? {
          failure: {
            verification: {
              tenant: id,
              olapSchema: `reporting_${id}`,
              ok: false,
              checks: verifyChecks,
              levels: [],
            },
          },
        }
      : {}),
    attempts: skipped ? 0 : 1,
    retries:
      id === RETRIED ? [{ at: "2026-11-25T03:10:00.000Z", error: "connection reset (ECONNRESET)" }] : [],
    ...(WARNED.has(id)
      ? { warnings: [`${id}: ANALYZE failed (permission denied); the back-fill is committed`] }
      : {}),
    steps: [],
    durationMs: skipped ? 0 : 60_000 + index * 4_321,
    ...(failed ? { error: "verify: completeness failed" } : {}),
    ...(skipped ? { skipped: "an earlier tenant failed (--fail-fast)" } : {}),
  };
}

/** What runResult derives from a run's journal, for the synthetic one. */
function syntheticRun(): { report: RunReport; distributions: TenantDistribution[] } {
  const entries = TENANTS.map((id, index) => [id, journalEntry(id, index)] as const);
  const report: RunReport = {
    runId: "20261125_030000_beef",
    since: "2019-11-01 00:00:00",
    startedAt: "2026-11-25T03:00:00.000Z",
    finishedAt: "2026-11-25T05:07:13.000Z",
    ok: false,
    tenants: entries.map(([id, entry]) =>
      id === PREFLIGHT_FAILED
        ? emptyTenantReport(id, "failed", "preflight: staging s3://rdw/t44/ is not empty")
        : tenantReport(id, entry),
    ),
  };
  const distributions = entries.flatMap(([id, entry]): TenantDistribution[] => {
    const levels = id === PREFLIGHT_FAILED ? undefined : entry.results.merge?.levels;
    return levels ? [{ tenant: id, ...levels }] : [];
  });
  return { report, distributions };
}

describe("the HTML report of a deployment of 50 tenants", () => {
  let dir: string;
  let run: ReturnType<typeof syntheticRun>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdwbf-overview-"));
    run = syntheticRun();
    await writeReportFiles(run.report, dir, run.distributions);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("opens on an overview: failed and warned tenants on top, links to each section, names and separators", async (t) => {
    const file = join(dir, "report.html");
    // The bound: Chart.js's inlined bundle, which every report carries, plus 8 KiB per tenant.
    // A tenant here has as much as a tenant shows: 12 charts, 7 checks, rejections, a warning;
    // its overview row, section and chart data take 4.5 KiB. A report past the bound carries
    // something it should not (per chart or per row, e.g. a second copy of the bundle).
    const bundle = await stat(
      join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js"),
    );
    const { size } = await stat(file);
    const bound = bundle.size + TENANTS.length * 8 * 1024;
    t.diagnostic(
      `report.html for ${TENANTS.length} tenants: ${size} bytes (${(size / 1024).toFixed(0)} KiB; ` +
        `Chart.js ${bundle.size} bytes, ${((size - bundle.size) / TENANTS.length / 1024).toFixed(1)} KiB per tenant); bound ${bound}`,
    );
    assert.ok(size <= bound, `report.html is ${size} bytes, more than ${bound}`);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const url = pathToFileURL(file).href;
      const started = Date.now();
      await page.goto(url);
      await page.waitForFunction(
        () => (window as unknown as { rdwChartsRendered?: number }).rdwChartsRendered !== undefined,
      );
      const loadMs = Date.now() - started;
      const { rendered, firstPaintMs } = await page.evaluate(() => ({
        rendered: (window as unknown as { rdwChartsRendered: number }).rdwChartsRendered,
        firstPaintMs: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      }));
      // Reported, not asserted: it depends on the machine and on what else runs on it.
      const timing =
        `report.html (${size} bytes, ${TENANTS.length} tenants): overview painted after ${Math.round(firstPaintMs)} ms, ` +
        `all ${rendered} charts drawn ${loadMs} ms after the page was asked for`;
      t.diagnostic(timing);
      assert.deepEqual(
        requested.filter((u) => u !== url),
        [],
        "the report loads nothing but itself",
      );

      // Every tenant has a row; failed ones first, then warned ones, then the rest, each in run order.
      const rows = await page.$$eval("table.overview tbody tr", (trs) =>
        trs.map((tr) => ({
          tenant: tr.getAttribute("data-tenant") ?? "",
          cells: [...tr.querySelectorAll("td")].map((td) => td.textContent ?? ""),
        })),
      );
      const failed = TENANTS.filter((id) => FAILED.has(id) || id === PREFLIGHT_FAILED);
      const warned = TENANTS.filter((id) => WARNED.has(id) || id === RETRIED);
      const rest = TENANTS.filter((id) => !failed.includes(id) && !warned.includes(id));
      assert.deepEqual(
        rows.map((row) => row.tenant),
        [...failed, ...warned, ...rest],
      );
      assert.deepEqual(
        rows.slice(0, failed.length + warned.length).map((row) => row.cells[1]),
        [...failed.map(() => "failed"), ...warned.map(() => "succeeded with warnings")],
      );
      assert.deepEqual(
        rows.filter((row) => SKIPPED.has(row.tenant)).map((row) => row.cells[1]),
        ["skipped", "skipped"],
      );
      const t01 = rows.find((row) => row.tenant === "T01")!.cells;
      // tenant, status, before, after, loaded, replaced, rejected, checks ok, failed, warnings, duration, note
      assert.deepEqual(t01, [
        "T01",
        "succeeded",
        "3,000,000",
        "3,800,000",
        "1,000,000",
        "200,000",
        "5,432",
        "7",
        "0",
        "0",
        "1 min 00 s",
        "",
      ]);
      assert.deepEqual(rows.find((row) => row.tenant === "T07")!.cells.slice(7, 10), ["6", "1", "0"]);
      assert.deepEqual(rows.find((row) => row.tenant === "T07")!.cells[11], "verify: completeness failed");
      assert.deepEqual(rows.find((row) => row.tenant === PREFLIGHT_FAILED)!.cells.slice(2, 4), ["—", "—"]);
      assert.match(rows.find((row) => row.tenant === "T12")!.cells[11]!, /ANALYZE failed/);
      for (const row of rows)
        for (const cell of row.cells.slice(2, 11))
          assert.doesNotMatch(cell, /\d{4}/, `${row.tenant}: ${cell} has thousands separators`);

      // The summary line above the table.
      const summary = (await page.textContent("#overview p.summary")) ?? "";
      const loadedInAll = run.report.tenants.reduce((sum, tenant) => sum + tenant.loaded, 0);
      assert.equal(
        summary,
        `50 tenants: 44 succeeded (3 with warnings), 4 failed, 2 skipped; ` +
          `${loadedInAll.toLocaleString("en-US")} rows loaded in all; the run took 2 h 07 min`,
      );

      // Each link jumps to its tenant's section; the section links back.
      for (const id of ["T23", "T12", "T02", "T30"]) {
        await page.click(`table.overview a[href="#tenant-${id}"]`);
        await page.waitForFunction((hash) => location.hash === hash, `#tenant-${id}`);
        const top = await page.$eval(`#tenant-${id}`, (section) => section.getBoundingClientRect().top);
        assert.ok(Math.abs(top) < 2, `section ${id} is at the top of the window (${top})`);
        assert.match((await page.textContent(`#tenant-${id} h2`)) ?? "", new RegExp(`^${id} `));
        await page.click(`#tenant-${id} a.top`);
        const overviewTop = await page.$eval("#overview", (section) => section.getBoundingClientRect().top);
        assert.ok(Math.abs(overviewTop) < 2, "back at the overview");
      }

      // Charts are labelled by subject and code; the old journal's by id.
      const titles = await page.evaluate(() => {
        type ChartLike = { options: { plugins: { title: { text: string } } } };
        const { getChart } = (
          window as unknown as { Chart: { getChart(c: HTMLCanvasElement): ChartLike | undefined } }
        ).Chart;
        return [...document.querySelectorAll("section.tenant")].map((section) => ({
          tenant: section.id.replace("tenant-", ""),
          titles: [...section.querySelectorAll("canvas")].map(
            (canvas) => getChart(canvas)?.options.plugins.title.text ?? "",
          ),
        }));
      });
      // A tenant whose verify failed has charts: its merge committed and read them.
      const charted = TENANTS.filter((id) => !SKIPPED.has(id) && id !== PREFLIGHT_FAILED);
      assert.equal(rendered, charted.length * CHARTS_PER_TENANT);
      const expected = (label: (id: number) => string) =>
        YEARS.flatMap((year) => NAMES.map(({ id }) => `School year ${year}, ${label(id)}`));
      for (const { tenant, titles: shown } of titles) {
        if (!charted.includes(tenant)) assert.deepEqual(shown, [], tenant);
        else if (tenant === OLD_JOURNAL)
          assert.deepEqual(
            shown,
            expected((id) => `alt score ${id}`),
          );
        else
          assert.deepEqual(
            shown,
            expected(
              (id) =>
                ({ 19: "ELA Reading (sum, 19)", 20: "Math ALT1 (sum, 20)", 21: "Math ALT1 (ica, 21)" })[id]!,
            ),
            tenant,
          );
      }

      // Counts in the sections have separators too; ids in examples do not.
      const t07 = (await page.textContent("#tenant-T07")) ?? "";
      assert.match(t07, /1,074,070 rows expected/);
      assert.match(t07, /missing 1234567/);
      assert.match(t07, /4,432: alt scale_score is NULL in the warehouse \(e\.g\. 50012\)/);
      await page.evaluate(() => window.scrollTo(0, 0));
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "report-overview.png") });
    } finally {
      await browser.close();
    }
  });

  it("the Markdown summary carries the same line and separated counts", async () => {
    const markdown = await readFile(join(dir, "summary.md"), "utf8");
    assert.match(markdown, /50 tenants: 44 succeeded \(3 with warnings\), 4 failed, 2 skipped/);
    assert.match(markdown, /\| T01 \| succeeded \| 1,005,432 \|/);
  });
});
