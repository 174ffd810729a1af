/**
 * Reads Asterisk configuration files the way Asterisk's main/config.c does, for the parts the contrib files
 * use: `;` comments (`\;` is a literal semicolon, `;-- … --;` a block comment), `#include`/`#tryinclude`
 * read in place, `[name]` sections with options `(!)` (a template, not a section of its own), `(+)` (add to the
 * section of that name read before; an error when there is none) and `(tpl1,tpl2)` (start with the
 * templates' variables), and `name = value` / `name => value` lines (an error before any section).
 * pbx_config then takes global variables from the FIRST section named `globals` only (ast_variable_browse)
 * and skips every other `globals` section.
 */
export interface ConfigVariable {
  readonly name: string;
  readonly value: string;
  /** `=>` rather than `=` (an object, e.g. `exten =>`). */
  readonly object: boolean;
  /** `file:line` it came from. */
  readonly at: string;
}

export interface ConfigSection {
  readonly name: string;
  readonly template: boolean;
  readonly variables: ConfigVariable[];
}

export class AsteriskConfigError extends Error {}

/** Parses `file` and everything it includes; `readFile` returns a file's text, or undefined when it is missing. */
export function parseAsteriskConfig(file: string, readFile: (name: string) => string | undefined): ConfigSection[] {
  const sections: ConfigSection[] = [];
  let current: ConfigSection | null = null;
  let commentDepth = 0;

  const parseFile = (name: string, depth: number) => {
    if (depth > 10) throw new AsteriskConfigError(`${name}: #include nested too deep`);
    const text = readFile(name);
    if (text === undefined) throw new AsteriskConfigError(`${name}: no such file`);
    text.split('\n').forEach((raw, i) => {
      const at = `${name}:${i + 1}`;
      const line = stripComments(raw).trim();
      if (line === '') return;
      const directive = /^#(include|tryinclude)\s+"?([^"]+?)"?\s*$/.exec(line);
      if (directive !== null) {
        const included = directive[2] ?? '';
        if (directive[1] === 'tryinclude' && readFile(included) === undefined) return;
        parseFile(included, depth + 1);
        return;
      }
      const heading = /^\[([^\]]+)\](?:\(([^)]*)\))?$/.exec(line);
      if (heading !== null) {
        current = openSection(heading[1] ?? '', heading[2], at);
        return;
      }
      const variable = /^([^=]+?)\s*=(>?)\s*(.*)$/.exec(line);
      if (variable === null) throw new AsteriskConfigError(`${at}: cannot parse “${line}”`);
      if (current === null) throw new AsteriskConfigError(`${at}: a variable before any [section]`);
      current.variables.push({ name: variable[1] ?? '', value: variable[3] ?? '', object: variable[2] === '>', at });
    });
  };

  /** Removes comments; keeps block-comment state across lines like config.c's comment_count. */
  const stripComments = (raw: string): string => {
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      if (commentDepth > 0) {
        if (raw.startsWith('--;', i)) {
          commentDepth--;
          i += 2;
        } else if (raw.startsWith(';--', i)) {
          commentDepth++;
          i += 2;
        }
        continue;
      }
      const c = raw[i];
      if (c === '\\' && raw[i + 1] === ';') {
        out += ';';
        i++;
      } else if (raw.startsWith(';--', i)) {
        commentDepth++;
        i += 2;
      } else if (c === ';') {
        break;
      } else {
        out += c;
      }
    }
    return out;
  };

  const openSection = (name: string, options: string | undefined, at: string): ConfigSection => {
    const opts = (options ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
    if (opts.includes('+')) {
      const existing = sections.find((s) => s.name.toLowerCase() === name.toLowerCase());
      if (existing === undefined) {
        throw new AsteriskConfigError(`${at}: Category addition requested, but category '${name}' does not exist`);
      }
      return existing;
    }
    const section: ConfigSection = { name, template: opts.includes('!'), variables: [] };
    for (const base of opts.filter((o) => o !== '!')) {
      const template = sections.find((s) => s.name === base && s.template);
      if (template === undefined) throw new AsteriskConfigError(`${at}: Inheritance requested, but category '${base}' does not exist`);
      section.variables.push(...template.variables);
    }
    sections.push(section);
    return section;
  };

  parseFile(file, 0);
  if (commentDepth > 0) throw new AsteriskConfigError(`${file}: a ;-- block comment is never closed`);
  return sections;
}

/** The global variables pbx_config sets: those of the first section named globals (templates are not sections). */
export function dialplanGlobals(sections: readonly ConfigSection[]): Map<string, string> {
  const globals = sections.find((s) => !s.template && s.name.toLowerCase() === 'globals');
  return new Map((globals?.variables ?? []).map((v) => [v.name, v.value]));
}

/** The first real section with this name. */
export function section(sections: readonly ConfigSection[], name: string): ConfigSection | undefined {
  return sections.find((s) => !s.template && s.name === name);
}

/** One dialplan step: `exten => s,1,Set(…)` or `same => n(label),GotoIf(…)`, as pbx_config splits it. */
export interface DialplanStep {
  readonly label: string | null;
  readonly app: string;
  readonly data: string;
  readonly at: string;
}

/** The steps of a context's extension, in order (`exten =>` starts one, each `same =>` follows it). */
export function dialplanSteps(context: ConfigSection, extension: string): DialplanStep[] {
  const steps: DialplanStep[] = [];
  let inside = false;
  for (const v of context.variables) {
    if (!v.object) continue;
    let rest = v.value;
    if (v.name === 'exten') {
      const comma = rest.indexOf(',');
      inside = rest.slice(0, comma) === extension;
      rest = rest.slice(comma + 1);
    } else if (v.name !== 'same') continue;
    if (!inside) continue;
    const m = /^(?:\d+|n)(?:\((\w+)\))?,(\w+)(?:\((.*)\))?$/.exec(rest);
    if (m === null) throw new AsteriskConfigError(`${v.at}: cannot read the step “${rest}”`);
    steps.push({ label: m[1] ?? null, app: m[2] ?? '', data: m[3] ?? '', at: v.at });
  }
  return steps;
}

/** Every dialplan function a text calls (`${NAME(…)}`, `CURLOPT(…)=` or `LOCAL(…)=` on the left of a Set). */
export function dialplanFunctions(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<![\w$])([A-Z][A-Z0-9_]*)\(/g)].map((m) => m[1] ?? ''));
}

/** Splits function or application arguments at unescaped commas, as ast_app_separate_args does (`\,` keeps a comma). */
export function separateArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i] ?? '';
    } else if (c === ',' && depth === 0) {
      args.push(current);
      current = '';
    } else {
      if (c === '(') depth++;
      if (c === ')') depth--;
      if (c !== '"') current += c;
    }
  }
  args.push(current);
  return args;
}

export type DialplanFunction = (args: string[], variables: ReadonlyMap<string, string>) => string;

/**
 * Runs the Set and GotoIf steps of a dialplan from `from` until the label `until`, the way pbx.c substitutes
 * `${VAR}`, `${FUNC(args)}` (innermost first) and `$["a" = "b"]` / `$["a" != "b"]`. Functions come from
 * `functions` (a dialplan function the test does not model is an error); returns the variables set.
 */
export function runDialplan(
  steps: readonly DialplanStep[],
  from: number,
  until: string,
  functions: Readonly<Record<string, DialplanFunction>>,
): Map<string, string> {
  const variables = new Map<string, string>();
  const substitute = (text: string): string => {
    for (;;) {
      const start = text.lastIndexOf('${');
      const expr = text.lastIndexOf('$[');
      if (start < 0 && expr < 0) return text;
      if (start > expr) {
        let depth = 0;
        let end = start + 2;
        for (; end < text.length; end++) {
          if (text[end] === '{') depth++;
          if (text[end] === '}') {
            if (depth === 0) break;
            depth--;
          }
        }
        const inner = text.slice(start + 2, end);
        const call = /^([A-Z][A-Z0-9_]*)\((.*)\)$/s.exec(inner);
        let value: string;
        if (call !== null) {
          const fn = functions[call[1] ?? ''];
          if (fn === undefined) throw new AsteriskConfigError(`the test does not model ${call[1]}()`);
          value = fn(separateArgs(call[2] ?? ''), variables);
        } else {
          value = variables.get(inner) ?? '';
        }
        text = text.slice(0, start) + value + text.slice(end + 1);
      } else {
        // The expression ends at its matching bracket (a value may hold balanced ones: an IPv6 address).
        let end = expr + 2;
        for (let depth = 0; end < text.length; end++) {
          if (text[end] === '[') depth++;
          if (text[end] === ']') {
            if (depth === 0) break;
            depth--;
          }
        }
        const m = /^\s*"(.*)"\s*(=|!=)\s*"(.*)"\s*$/s.exec(text.slice(expr + 2, end));
        if (m === null) throw new AsteriskConfigError(`the test does not model the expression ${text.slice(expr, end + 1)}`);
        const equal = m[1] === m[3];
        text = text.slice(0, expr) + ((m[2] === '=') === equal ? '1' : '0') + text.slice(end + 1);
      }
    }
  };
  for (let i = from; i < steps.length; ) {
    const step = steps[i] as DialplanStep;
    if (step.label === until) return variables;
    if (step.app === 'Set') {
      const m = /^LOCAL\((\w+)\)=(.*)$/s.exec(step.data);
      if (m === null) throw new AsteriskConfigError(`${step.at}: the test models Set(LOCAL(NAME)=value) only`);
      variables.set(m[1] ?? '', substitute(m[2] ?? ''));
      i++;
    } else if (step.app === 'GotoIf') {
      const m = /^(.*)\?(\w+)$/s.exec(step.data);
      if (m === null) throw new AsteriskConfigError(`${step.at}: the test models GotoIf(condition?label) only`);
      const target = steps.findIndex((s) => s.label === m[2]);
      if (target < 0) throw new AsteriskConfigError(`${step.at}: no label ${m[2]}`);
      i = substitute(m[1] ?? '').trim() === '1' ? target : i + 1;
    } else {
      throw new AsteriskConfigError(`${step.at}: the test does not model ${step.app}()`);
    }
  }
  throw new AsteriskConfigError(`the label ${until} was never reached`);
}
