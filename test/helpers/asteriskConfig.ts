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
    const opts = (options ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
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
