import cliProgress from "cli-progress";
import type { StepName } from "../plan/actions.js";
import { formatCount, formatDuration } from "../report/format.js";
import type { ProgressSink, StepProgress } from "../steps/progress.js";
import { type RunStanding, RunTally } from "./run-tally.js";

/** The whole run in a few words: tenants ended and running, rows, and the ETA. */
export function describeStanding(standing: RunStanding): string {
  const { tenants, running, done, failed, skipped, rowsDone, rowsTotal, etaMs } = standing;
  const left = tenants - running - done - failed - skipped;
  return (
    `${formatCount(done)} of ${formatCount(tenants)} tenants done` +
    (failed + skipped > 0 ? ` (${formatCount(failed)} failed, ${formatCount(skipped)} skipped)` : "") +
    `, ${formatCount(running)} running, ${formatCount(left)} waiting; ` +
    `~${formatCount(rowsDone)} of ~${formatCount(rowsTotal)} rows extracted; ` +
    `ETA ${etaMs === undefined ? "unknown" : formatDuration(etaMs)}`
  );
}

const rowsPerSecond = (rows: number, since: number) =>
  Math.round(rows / Math.max((Date.now() - since) / 1000, 0.001));

/**
 * Progress bars for a terminal: one for the whole run (the work done, rows extracted of the
 * tenants' estimates, tenants done, ETA), and one per running tenant (its current step's rows,
 * rows/s and ETA), removed when the tenant ends.
 */
export function barProgress(stream: NodeJS.WriteStream): ProgressSink & { stop(): void } {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: " {tenant} {step} |{bar}| {value}/{total} rows  {speed} rows/s  ETA {eta_formatted}  {note}",
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const tally = new RunTally();
  let runBar: cliProgress.SingleBar | undefined;
  const tenantBars = new Map<string, cliProgress.SingleBar>();
  /** Each tenant's current step: a step's progress that arrives after the next step began is dropped. */
  const currentStep = new Map<string, object>();

  const showRun = () => {
    const standing = tally.standing();
    runBar?.setTotal(Math.max(standing.rowsTotal, 1));
    // The bar fills with the work done, which the extract's rows are only a share of.
    runBar?.update(Math.round(standing.workDone), { standing: describeStanding(standing) });
  };
  const barOf = (tenant: string) => {
    let bar = tenantBars.get(tenant);
    if (!bar) {
      bar = bars.create(1, 0, { tenant: tenant.padEnd(8), step: "starting", speed: 0, note: "" });
      tenantBars.set(tenant, bar);
    }
    return bar;
  };

  return {
    planned(tenants) {
      tally.planned(tenants);
      runBar = bars.create(1, 0, { standing: "" }, { format: " run |{bar}| {standing}" });
      showRun();
    },
    tenantStarted(tenant) {
      tally.started(tenant);
      barOf(tenant);
      showRun();
    },
    tenantEnded(tenant, end) {
      tally.ended(tenant, end);
      const bar = tenantBars.get(tenant);
      if (bar) bars.remove(bar);
      tenantBars.delete(tenant);
      currentStep.delete(tenant);
      showRun();
    },
    step(tenant: string, step: StepName, expectedRows: number | undefined): StepProgress {
      const started = Date.now();
      const token = {};
      currentStep.set(tenant, token);
      const bar = barOf(tenant);
      bar.start(Math.max(expectedRows ?? 0, 1), 0, {
        tenant: tenant.padEnd(8),
        step: step.padEnd(7),
        speed: 0,
        note: "",
      });
      const show = (rows: number) => {
        if (step === "extract") {
          tally.extracted(tenant, rows);
          showRun();
        }
        if (currentStep.get(tenant) !== token) return;
        if (rows > bar.getTotal()) bar.setTotal(rows);
        bar.update(rows, { speed: rowsPerSecond(rows, started) });
      };
      return {
        update: show,
        note: (text) => void (currentStep.get(tenant) === token && bar.update({ note: text })),
        done: (rows) => {
          if (currentStep.get(tenant) === token) bar.setTotal(Math.max(rows, 1));
          show(rows);
        },
      };
    },
    info: (tenant, message) => bars.log(`${tenant}: ${message}\n`),
    stop: () => bars.stop(),
  };
}

/**
 * Plain log lines for a log file or a CI console, each naming its tenant: a line per step and
 * one every few seconds; a tenant's start; and every `runEveryMs` a line for the whole run.
 */
export function lineProgress(
  stream: NodeJS.WritableStream,
  everyMs = 5000,
  runEveryMs = 30_000,
): ProgressSink & { stop(): void } {
  const log = (line: string) => stream.write(`${new Date().toISOString()} ${line}\n`);
  const tally = new RunTally();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => clearInterval(timer);
  return {
    planned(tenants) {
      tally.planned(tenants);
      timer = setInterval(() => log(`run: ${describeStanding(tally.standing())}`), runEveryMs).unref();
    },
    tenantStarted(tenant) {
      tally.started(tenant);
      log(`${tenant}: started`);
    },
    tenantEnded(tenant, end) {
      tally.ended(tenant, end);
      if (tally.over) stop();
    },
    step(tenant, step, expectedRows) {
      const started = Date.now();
      let lastLog = started;
      let lastNote = "";
      log(`${tenant} ${step}: started${expectedRows ? `, about ${expectedRows} rows expected` : ""}`);
      const extracted = (rows: number) => step === "extract" && tally.extracted(tenant, rows);
      return {
        update(rows) {
          extracted(rows);
          if (Date.now() - lastLog < everyMs) return;
          lastLog = Date.now();
          log(`${tenant} ${step}: ${rows} rows, ${rowsPerSecond(rows, started)} rows/s`);
        },
        note(text) {
          if (text === lastNote) return;
          lastNote = text;
          log(`${tenant} ${step}: ${text}`);
        },
        done(rows) {
          extracted(rows);
          log(
            `${tenant} ${step}: done, ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s (${rowsPerSecond(rows, started)} rows/s)`,
          );
        },
      };
    },
    info: (tenant, message) => log(`${tenant}: ${message}`),
    stop,
  };
}
