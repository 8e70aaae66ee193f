import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { quotePg } from "../src/dialects/postgres.js";
import { launchChromium } from "./helpers/chromium.js";
import { sampleDataset, World } from "./helpers/world.js";

const SCREENSHOTS = new URL("../../test-artifacts/", import.meta.url).pathname;
/** The demo warehouse's alt scores as `subject_score`, `subject` and `asmt_type` name them. */
const NAMES: Record<number, string> = {
  19: "Math ALT1 (sum, 19)",
  20: "ELA ALT1 (sum, 20)",
  21: "Math ALT1 (ica, 21)",
};

describe("the HTML report", () => {
  let world: World;
  let reportDir: string;

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [{ id: "HT", pathPrefix: "ht", dataset: sampleDataset(120, 91) }],
    });
    reportDir = join(world.tmp, "html-report");
    const result = await world.runBackfill(["--report-dir", reportDir]);
    assert.equal(result.code, 0, result.stderr);
  });
  after(() => world?.destroy());

  it("opens without a network in headless Chromium and draws every chart with the table's numbers", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const url = pathToFileURL(join(reportDir, "report.html")).href;
      await page.goto(url);
      await page.waitForFunction(
        () => (window as unknown as { rdwChartsRendered?: number }).rdwChartsRendered !== undefined,
      );

      const charts = await page.evaluate(() => {
        type ChartLike = {
          data: { datasets: { label: string; data: number[] }[] };
          options: { plugins: { title: { text: string } } };
        };
        const getChart = (
          window as unknown as { Chart: { getChart(c: HTMLCanvasElement): ChartLike | undefined } }
        ).Chart.getChart;
        return [...document.querySelectorAll("canvas")].map((canvas) => {
          const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let drawn = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) drawn++;
          const chart = getChart(canvas);
          return {
            drawn,
            title: chart?.options.plugins.title.text ?? "",
            after: chart?.data.datasets.find((d) => d.label === "after")?.data ?? [],
            before: chart?.data.datasets.find((d) => d.label === "before")?.data,
          };
        });
      });
      const scores = await world.withPg(async (client) => {
        const { rows } = await client.query<{
          school_year: number;
          subject_score_id: number;
          scores: string;
        }>(
          `SELECT school_year, subject_score_id, count(*) AS scores
           FROM ${quotePg(world.tenant("HT").schema)}.exam_alt_score GROUP BY 1, 2 ORDER BY 1, 2`,
        );
        return rows;
      });
      assert.equal(charts.length, scores.length, "one chart per school year and alt score");
      assert.equal(
        await page.evaluate(() => (window as unknown as { rdwChartsRendered: number }).rdwChartsRendered),
        charts.length,
      );
      for (const [index, chart] of charts.entries()) {
        const row = scores[index]!;
        assert.equal(chart.title, `School year ${row.school_year}, ${NAMES[row.subject_score_id]}`);
        assert.ok(chart.drawn > 5000, `${chart.title}: ${chart.drawn} pixels drawn`);
        assert.equal(
          chart.after.reduce((sum, n) => sum + n, 0),
          Number(row.scores),
          chart.title,
        );
        assert.ok(chart.before, `${chart.title} shows the table before the back-fill too`);
      }
      const summary = JSON.parse(await readFile(join(reportDir, "summary.json"), "utf8")) as {
        tenants: { rowsBefore?: number }[];
      };
      assert.equal(
        charts.reduce((sum, chart) => sum + (chart.before ?? []).reduce((s, n) => s + n, 0), 0),
        summary.tenants[0]?.rowsBefore,
        "the charts before the back-fill add up to the rows before it",
      );
      assert.deepEqual(
        requested.filter((u) => u !== url),
        [],
        "the report loads nothing but itself",
      );
      assert.match((await page.textContent("body")) ?? "", /completeness\s*pass/);
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "report.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
