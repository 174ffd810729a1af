import { stdin, stdout } from 'node:process';

/**
 * What keys typed at a raw terminal (or bytes piped in) amount to: Backspace and Delete take the last character
 * back, Enter or Ctrl-D ends the line, Ctrl-C aborts.
 */
export function typedLine(keys: string): { readonly state: 'typing' | 'done' | 'aborted'; readonly text: string } {
  let text = '';
  for (const key of keys) {
    if (key === '\u0003') return { state: 'aborted', text: '' };
    if (key === '\r' || key === '\n' || key === '\u0004') return { state: 'done', text };
    if (key === '\u007f' || key === '\b') text = text.slice(0, -1);
    else text += key;
  }
  return { state: 'typing', text };
}

/** Reads one line: the password, typed at a terminal (not echoed) or piped in; null when Ctrl-C aborted it. */
export async function readSecret(prompt: string): Promise<string | null> {
  if (stdin.isTTY) stdout.write(prompt);
  if (stdin.isTTY) stdin.setRawMode(true);
  let keys = '';
  let line = typedLine('');
  for await (const chunk of stdin) {
    keys += String(chunk);
    line = typedLine(keys);
    if (line.state !== 'typing') break;
  }
  if (stdin.isTTY) {
    stdin.setRawMode(false);
    stdout.write('\n');
  }
  stdin.pause();
  return line.state === 'aborted' ? null : line.text;
}
