/** Why a source row was not loaded. Every such row is counted; none disappears silently. */
export type RejectionReason =
  | "null_scale_score"
  | "null_performance_level"
  | "exam_not_in_olap"
  | "superseded_exam"
  | "olap_exam_differs"
  | "duplicate_score_row";

export const REJECTION_DESCRIPTIONS: Record<RejectionReason, string> = {
  null_scale_score: "alt scale_score is NULL in the warehouse",
  null_performance_level: "alt performance_level is NULL in the warehouse",
  exam_not_in_olap: "exam is not in the OLAP exam table",
  superseded_exam:
    "OLAP exam holds another exam for that student, asmt and year (a retake, or not migrated yet)",
  olap_exam_differs: "OLAP exam with this id has another student, asmt or school year",
  duplicate_score_row: "second warehouse score row for the same exam and alt score",
};

export interface Rejection {
  reason: RejectionReason;
  count: number;
  /** A few `exam_score.id` values, to look the rows up. */
  exampleIds: string[];
}

export const EXAMPLES_PER_REASON = 5;

export class RejectionTally {
  private readonly byReason = new Map<RejectionReason, Rejection>();

  /** Keeps the lowest ids as examples, so that the report does not depend on the order rows arrive in. */
  add(reason: RejectionReason, id: string | null): void {
    let entry = this.byReason.get(reason);
    if (!entry) this.byReason.set(reason, (entry = { reason, count: 0, exampleIds: [] }));
    entry.count++;
    if (id === null) return;
    const examples = entry.exampleIds;
    if (examples.length === EXAMPLES_PER_REASON && !(BigInt(id) < BigInt(examples[examples.length - 1]!)))
      return;
    const at = examples.findIndex((example) => BigInt(id) < BigInt(example));
    examples.splice(at === -1 ? examples.length : at, 0, id);
    if (examples.length > EXAMPLES_PER_REASON) examples.pop();
  }

  /** By reason, in alphabetical order, so that every mode reports alike. */
  list(): Rejection[] {
    return [...this.byReason.values()].sort((a, b) => a.reason.localeCompare(b.reason));
  }
}

export function totalRejected(rejections: readonly Rejection[]): number {
  return rejections.reduce((sum, rejection) => sum + rejection.count, 0);
}
