/** How counts are written for people: the one place, for the plan, the checks and the report. */

const COUNT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A count with thousands separators: 1234567 → `1,234,567`. Ids are never passed through it. */
export const formatCount = (n: number): string => COUNT.format(n);
