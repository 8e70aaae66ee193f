import cliProgress from "cli-progress";
import type { StepName } from "../plan/actions.js";
import type { ProgressSink, StepProgress } from "../steps/progress.js";

/** Progress bars (rows, rows/s, ETA) for a terminal. */
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
  return {
    step(tenant: string, step: StepName, expectedRows: number | undefined): StepProgress {
      const started = Date.now();
      const total = Math.max(expectedRows ?? 0, 1);
      const bar = bars.create(total, 0, {
        tenant: tenant.padEnd(8),
        step: step.padEnd(7),
        speed: 0,
        note: "",
      });
      const show = (rows: number) => {
        if (rows > bar.getTotal()) bar.setTotal(rows);
        bar.update(rows, { speed: Math.round(rows / Math.max((Date.now() - started) / 1000, 0.001)) });
      };
      return {
        update: show,
        note: (text) => bar.update({ note: text }),
        done: (rows) => {
          bar.setTotal(Math.max(rows, 1));
          show(rows);
          bar.stop();
        },
      };
    },
    info: (tenant, message) => bars.log(`${tenant}: ${message}\n`),
    stop: () => bars.stop(),
  };
}

/** Plain log lines for a log file or a CI console: a line per step, and one every few seconds. */
export function lineProgress(stream: NodeJS.WritableStream, everyMs = 5000): ProgressSink {
  const log = (line: string) => stream.write(`${new Date().toISOString()} ${line}\n`);
  return {
    step(tenant, step, expectedRows) {
      const started = Date.now();
      let lastLog = started;
      let lastNote = "";
      log(`${tenant} ${step}: started${expectedRows ? `, about ${expectedRows} rows expected` : ""}`);
      const rate = (rows: number) => Math.round(rows / Math.max((Date.now() - started) / 1000, 0.001));
      return {
        update(rows) {
          if (Date.now() - lastLog < everyMs) return;
          lastLog = Date.now();
          log(`${tenant} ${step}: ${rows} rows, ${rate(rows)} rows/s`);
        },
        note(text) {
          if (text === lastNote) return;
          lastNote = text;
          log(`${tenant} ${step}: ${text}`);
        },
        done(rows) {
          log(
            `${tenant} ${step}: done, ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s (${rate(rows)} rows/s)`,
          );
        },
      };
    },
    info: (tenant, message) => log(`${tenant}: ${message}`),
  };
}
