import { ConfigError } from "../core/errors.js";

/**
 * `--stop-after`: the end of the maintenance window, after which no tenant is started.
 * `HH:MM` is the next such time on this machine's clock and zone (as the operator reads the
 * window on the wall); a full date and time must carry its zone (`Z` or `±HH:MM`), because a
 * bare one would be read in whichever zone this machine happens to run in.
 */
export function parseStopAfter(value: string, now: Date = new Date()): Date {
  const clock = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value.trim());
  if (clock) {
    const at = new Date(now);
    at.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
    return at;
  }
  const zoned = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim());
  const at = new Date(value.trim().replace(" ", "T"));
  if (!zoned || Number.isNaN(at.getTime())) {
    throw new ConfigError(
      `--stop-after ${value}: expected HH:MM (this machine's local time) or a date and time with its zone, e.g. 2026-11-26T05:30:00Z`,
    );
  }
  if (at.getTime() <= now.getTime()) throw new ConfigError(`--stop-after ${value}: that time has passed`);
  return at;
}
