import type { TextRow } from "../adapters/source/mysql.js";

/**
 * MySQL's `INTO OUTFILE` format for
 * `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\n'`
 * with the default `ESCAPED BY '\\'`: numbers bare, strings and temporal values in quotes,
 * NULL as a bare `\N`. Inside quotes the escape character precedes `\`, `"`, the line
 * terminator and NUL (written `\0`); a comma needs no escape there. Aurora's `INTO OUTFILE S3`
 * writes the same bytes, so one loader reads both; PostgreSQL and Redshift read it as CSV with
 * `NULL AS '\N'`.
 */
const IN_QUOTES = /[\\"\n\0]/g;
const BARE = /[\\,\n\0]/g;

export const NULL_FIELD = "\\N";

function escapeWith(pattern: RegExp, value: string): string {
  pattern.lastIndex = 0;
  if (!pattern.test(value)) return value;
  return value.replace(pattern, (char) => (char === "\0" ? "\\0" : "\\" + char));
}

/** One line, terminator included. `quoted[i]` says whether column i is enclosed in quotes. */
export function formatOutfileLine(row: TextRow, quoted: readonly boolean[]): string {
  let line = "";
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    if (i > 0) line += ",";
    if (value === null || value === undefined) line += NULL_FIELD;
    else if (quoted[i]) line += '"' + escapeWith(IN_QUOTES, value) + '"';
    else line += escapeWith(BARE, value);
  }
  return line + "\n";
}
