/**
 * What limits each target when it is missed: diagnoses from reading the code and the numbers of
 * these benchmarks. `match` is the start of "<scenario> <metric>" of a table row.
 */
export const ANALYSIS: { match: string; why: string }[] = [];
