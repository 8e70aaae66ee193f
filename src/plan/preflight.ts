import { formatCount } from "../core/format.js";

/** Pure verdicts of the preflight, from the numbers discovery read. */

/**
 * The backup copies exam_alt_score, and the replace leaves the deleted rows' blocks until a
 * vacuum: room for twice the table, so that the run never fills the cluster half way.
 */
export function backupSpaceVerdict(
  freeMb: number,
  tableMb: number,
): { problems: string[]; checked: string[]; unchecked: string[] } {
  const neededMb = 2 * tableMb;
  const numbers = `${formatCount(freeMb)} MB free, exam_alt_score takes ${formatCount(tableMb)} MB`;
  if (freeMb < neededMb) {
    return {
      problems: [
        `the OLAP cluster has no room for the backup: ${numbers}, the backup and the replaced rows need ${formatCount(neededMb)} MB ` +
          "(free space first, or run with --no-backup after taking a snapshot)",
      ],
      checked: [],
      unchecked: [],
    };
  }
  return { problems: [], checked: [`room for the backup: ${numbers} (twice that is needed)`], unchecked: [] };
}
