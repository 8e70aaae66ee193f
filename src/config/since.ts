import { ConfigError } from "../core/errors.js";

const SINCE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]00:?00)?$/;

/**
 * The start of the back-fill window. It is always UTC: the warehouse session runs in UTC and
 * the value is bound as text, so the server's and the operator's time zones cannot shift it.
 */
export function parseSince(text: string): string {
  const match = SINCE.exec(text.trim());
  if (!match) {
    throw new ConfigError(`--since ${JSON.stringify(text)}: expected YYYY-MM-DD[ HH:MM[:SS[.ffffff]]] (UTC)`);
  }
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = ""] = match;
  const date = new Date(Date.UTC(+year!, +month! - 1, +day!, +hour, +minute, +second));
  const valid =
    date.getUTCFullYear() === +year! &&
    date.getUTCMonth() === +month! - 1 &&
    date.getUTCDate() === +day! &&
    date.getUTCHours() === +hour &&
    date.getUTCMinutes() === +minute &&
    date.getUTCSeconds() === +second;
  if (!valid) throw new ConfigError(`--since ${JSON.stringify(text)}: not a valid date and time`);
  return `${year}-${month}-${day} ${hour}:${minute}:${second}.${fraction.padEnd(6, "0")}`;
}
