import { applyPatch, structuredPatch } from 'diff';

/** An admin's version with the shipped file's change merged in, and the parts of the change that could not be. */
export interface ShippedMerge {
  /** The admin's version with every part of the shipped change that applied. */
  readonly text: string;
  /** The parts of the shipped change (unified-diff hunks) that clash with the admin's own changes, for the admin to make by hand. */
  readonly conflicts: readonly string[];
}

/**
 * A three-way merge of a shipped template's change into an admin's version of it: the change from the shipped text
 * the version was made from to the shipped text now, applied hunk by hunk to the version (the `diff` package finds
 * each hunk's place by its context, so the admin's edits elsewhere do not move it). A hunk whose lines the admin
 * changed too does not apply: it is left out and named, never guessed.
 */
export function mergeShippedChange(shippedBefore: string, admins: string, shippedNow: string): ShippedMerge {
  const change = structuredPatch('shipped', 'shipped', shippedBefore, shippedNow, '', '', { context: 3 });
  let text = admins;
  const conflicts: string[] = [];
  for (const hunk of change.hunks) {
    // Fuzz lets a hunk apply when the admin changed a context line or two; the lines it removes, and the lines right
    // around what it inserts, must still be there exactly (the package's rule), so an admin's edit is never overwritten.
    const merged = applyPatch(text, { ...change, hunks: [hunk] }, { fuzzFactor: 2 });
    if (merged === false) conflicts.push([`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines].join('\n'));
    else text = merged;
  }
  return { text, conflicts };
}
