import { EXAM_ALT_SCORE_COLUMNS } from "../core/columns.js";

/** Exam ids per page of a bitset: 2^16 bits, 8 KiB. */
const PAGE_BITS = 65_536;
/**
 * At most this many pages (32 MiB, per tenant extracting at once): an exam id range of 268 million
 * for one alt score, or of 67 million for four. Past it the watch stops and cannot tell; the merge
 * then looks for twins itself.
 */
const MAX_PAGES = 4_096;

const EXAM_ID = EXAM_ALT_SCORE_COLUMNS.indexOf("exam_id");
const SCORE_ID = EXAM_ALT_SCORE_COLUMNS.indexOf("subject_score_id");
const FIELDS_READ = Math.max(EXAM_ID, SCORE_ID) + 1;
const COMMA = 44;
const ZERO = 48;

/**
 * Watches the staged lines for twins: two score rows for one exam and alt score. When the extract
 * saw every staged line and none shared an exam and alt score, the merge's keep pass need not look
 * for twins (an anti-join of the stage with itself, a quarter to a third of its time). Exact: one
 * bit per exam id and alt score, in pages allocated only where the exams are.
 */
export class TwinWatch {
  /** Per alt score id, its pages by exam id / PAGE_BITS; emptied once there is nothing more to learn. */
  private readonly pages = new Map<number, Map<number, Uint32Array>>();
  private pageCount = 0;
  private state: "watching" | "found" | "cannot tell" = "watching";

  /** Notes one staged line (the columns of `exam_alt_score` in table order, comma-separated). */
  see(line: string): void {
    if (this.state !== "watching") return;
    const fields = leadingIntegers(line, FIELDS_READ);
    const examId = fields?.[EXAM_ID];
    const scoreId = fields?.[SCORE_ID];
    if (examId === undefined || scoreId === undefined) return this.stop("cannot tell");
    let ofScore = this.pages.get(scoreId);
    if (!ofScore) this.pages.set(scoreId, (ofScore = new Map()));
    const pageNumber = Math.floor(examId / PAGE_BITS);
    let page = ofScore.get(pageNumber);
    if (!page) {
      if (++this.pageCount > MAX_PAGES) return this.stop("cannot tell");
      ofScore.set(pageNumber, (page = new Uint32Array(PAGE_BITS / 32)));
    }
    const bit = examId % PAGE_BITS;
    const mask = 1 << (bit % 32);
    const word = bit >>> 5;
    if ((page[word]! & mask) !== 0) return this.stop("found");
    page[word] = page[word]! | mask;
  }

  /** True when two lines shared an exam and alt score, false when none did, undefined when it cannot tell. */
  get twins(): boolean | undefined {
    return this.state === "watching" ? false : this.state === "found" ? true : undefined;
  }

  private stop(state: "found" | "cannot tell"): void {
    this.state = state;
    this.pages.clear(); // let the pages go
  }
}

const parsed: number[] = [];

/**
 * The line's first `count` fields as non-negative integers, if they all are one (a shared array,
 * valid until the next call: this runs for every staged row).
 */
function leadingIntegers(line: string, count: number): readonly number[] | undefined {
  let at = 0;
  for (let field = 0; field < count; field++) {
    let value = 0;
    const start = at;
    for (; at < line.length; at++) {
      const digit = line.charCodeAt(at) - ZERO;
      if (digit === COMMA - ZERO) break;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    if (at === start || !Number.isSafeInteger(value)) return undefined;
    parsed[field] = value;
    at++; // past the comma
  }
  return parsed;
}
