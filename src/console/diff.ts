import { diffLines as lineChanges } from 'diff';

/** One line of a line diff: kept, removed from the old text, or added in the new. */
export interface DiffLine {
  readonly kind: 'same' | 'removed' | 'added';
  readonly text: string;
}

/**
 * A line diff (the `diff` package's Myers diff), one entry per line so the console can mark each.
 * @returns every line of both texts in order, each marked.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const change of lineChanges(before, after)) {
    const kind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    // Each change holds whole lines, the last one ending in a line break unless it ends its text.
    const lines = change.value.endsWith('\n') ? change.value.slice(0, -1).split('\n') : change.value.split('\n');
    for (const text of lines) out.push({ kind, text });
  }
  return out;
}
