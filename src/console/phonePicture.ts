import type { DeviceRow } from '../db/schema.ts';
import { type KeyFunction, type KeyLayout, type KeySlot, layoutKeys, type UserKey } from '../domain/keyLayout.ts';
import { LOGOUT_KEY_LABEL } from '../provisioning/profile.ts';
import type { ModelProfile } from '../vendors/catalog.ts';
import type { ConsoleDeps } from './deps.ts';

/**
 * A picture of a phone with its keys where they land: the phone's line keys page by page, each attached expansion
 * module, and the keys that do not fit, drawn as an inline SVG from the model's facts in vendor-profiles/. Every
 * text in it is escaped here, so it can be put in a page as it is. It uses classes only (the console's CSP allows
 * no inline style); console.css colours them.
 */

/** The model facts the picture is drawn from. */
export type PictureModel = Pick<ModelProfile, 'name' | 'lineKeys' | 'expansion' | 'keysPerPage' | 'moduleKeysPerPage'>;

export interface PhonePicture {
  /** `Yealink` */
  readonly vendorName: string;
  readonly model: PictureModel;
  /** How many expansion modules are drawn (clamped to what the model supports). */
  readonly attachedModules: number;
  readonly layout: KeyLayout;
  /** Who the keys are (a user's name, or the idle account), for the picture's title. */
  readonly whose: string;
}

const WIDTH = 480;
const PAD = 12;
const KEY_HEIGHT = 30;
const GAP = 6;
const HEADING = 22;
/** Rows in a column of a module or of the keys that do not fit, before another column starts. */
const ROWS_PER_COLUMN = 20;

/** Text for SVG content and attribute values: the five XML specials escaped, control characters dropped. */
export function escapeSvg(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** What a key does, in words: the title a key shows when hovered, and what tests and screen readers read. */
export function describeKey(fn: KeyFunction | UserKey): string {
  const kind = 'kind' in fn ? fn.kind : fn.type;
  const label = 'label' in fn && fn.label !== '' ? ` “${fn.label}”` : '';
  const value = 'value' in fn && fn.value !== '' ? ` ${fn.value}` : '';
  switch (kind) {
    case 'empty':
      return 'empty';
    case 'line':
      return `line${label}`;
    case 'login':
      return `Login${value}`;
    case 'logout':
      return `Logout${value}`;
    case 'blf':
      return `BLF${value}${label}`;
    default:
      return `speed dial${value}${label}`;
  }
}

/** The short text on the key itself: its label, else its number, else what it is. */
function keyText(fn: KeyFunction | UserKey): string {
  const kind = 'kind' in fn ? fn.kind : fn.type;
  if (kind === 'empty') return '';
  const label = 'label' in fn ? fn.label : '';
  if (label !== '') return label;
  if ('value' in fn && fn.value !== '' && (kind === 'blf' || kind === 'speed')) return fn.value;
  return kind === 'line' ? 'Line' : kind === 'login' ? 'Login' : kind === 'logout' ? 'Logout' : '';
}

/** Cut to fit a key this wide (about 7 units a character at the picture's font size). */
function fit(text: string, width: number): string {
  const room = Math.max(3, Math.floor((width - 30) / 7));
  const chars = [...text];
  return chars.length <= room ? text : `${chars.slice(0, room - 1).join('')}…`;
}

/** One key: a box with its number and its text; its whole meaning in the title. */
function key(x: number, y: number, width: number, number: string, fn: KeyFunction | UserKey, data: string, extraClass = ''): string {
  const kind = 'kind' in fn ? fn.kind : fn.type;
  const title = `${number}: ${describeKey(fn)}`;
  return (
    `<g class="key key-${kind}${extraClass}" ${data}><title>${escapeSvg(title)}</title>` +
    `<rect x="${x}" y="${y}" width="${width}" height="${KEY_HEIGHT}" rx="4"/>` +
    `<text class="key-number" x="${x + 6}" y="${y + 19}">${escapeSvg(number)}</text>` +
    `<text class="key-text" x="${x + 28}" y="${y + 19}">${escapeSvg(fit(keyText(fn), width))}</text></g>`
  );
}

/** Keys laid in columns, top to bottom then left to right (as a phone's keys run down one side, then the other). */
function grid(
  count: number,
  columns: number,
  x: number,
  y: number,
  width: number,
): { at: (i: number) => { x: number; y: number }; width: number; height: number } {
  const rows = Math.ceil(count / columns);
  const keyWidth = Math.floor((width - GAP * (columns - 1)) / columns);
  return {
    at: (i) => ({ x: x + Math.floor(i / rows) * (keyWidth + GAP), y: y + (i % rows) * (KEY_HEIGHT + GAP) }),
    width: keyWidth,
    height: rows * (KEY_HEIGHT + GAP) - GAP,
  };
}

/** A part of the phone (the phone itself, a module): its outline, a heading, and its keys in pages. */
function part(
  y: number,
  cls: string,
  heading: string,
  slots: readonly KeySlot[],
  perPage: number,
  columnsOf: (keys: number) => number,
  data: string,
): { svg: string; height: number } {
  const inner = WIDTH - 4 * PAD;
  let body = '';
  let at = y + PAD + HEADING;
  const pages = Math.max(1, Math.ceil(slots.length / perPage));
  for (let p = 0; p < pages; p++) {
    const onPage = slots.slice(p * perPage, (p + 1) * perPage);
    if (pages > 1) {
      body += `<text class="page-heading" x="${2 * PAD}" y="${at + 12}">${escapeSvg(`Page ${p + 1}`)}</text>`;
      at += HEADING - 4;
    }
    const g = grid(onPage.length, columnsOf(onPage.length), 2 * PAD, at, inner);
    for (const [i, slot] of onPage.entries()) {
      const { x, y: ky } = g.at(i);
      body += key(x, ky, g.width, String(slot.index), slot.fn, `data-module="${slot.module}" data-index="${slot.index}" data-page="${p + 1}"`);
    }
    at += g.height + GAP * 2;
  }
  const height = at - y + PAD - GAP;
  return {
    svg:
      `<g class="${cls}" ${data}><rect class="body" x="${PAD}" y="${y}" width="${WIDTH - 2 * PAD}" height="${height}" rx="10"/>` +
      `<text class="part-heading" x="${2 * PAD}" y="${y + PAD + 12}">${escapeSvg(heading)}</text>${body}</g>`,
    height,
  };
}

/**
 * The phone's picture as an SVG element: its keys page by page, each attached module, and what does not fit.
 * @returns markup safe to put in a page as it is: every text in it is escaped.
 */
export function phonePictureSvg(picture: PhonePicture): string {
  const { model, layout } = picture;
  const supported = model.expansion?.modules ?? 0;
  const attached = Math.max(0, Math.min(picture.attachedModules, supported));
  const moduleName = model.expansion?.name ?? 'expansion';
  const parts: string[] = [];
  let y = PAD;

  const phoneColumns = (n: number) => (n <= 2 ? 1 : 2);
  const modules = attached === 0 ? 'no expansion module' : `${attached} ${moduleName} module${attached === 1 ? '' : 's'}`;
  const phone = part(
    y,
    'phone',
    `${picture.vendorName} ${model.name}, ${model.lineKeys} keys${supported === 0 ? '' : `, ${modules}`}`,
    layout.phone,
    model.keysPerPage ?? model.lineKeys,
    phoneColumns,
    'data-part="phone"',
  );
  parts.push(phone.svg);
  y += phone.height + PAD;

  const perModule = model.expansion?.keysPerModule ?? 0;
  const moduleColumns = (n: number) => Math.max(1, Math.min(3, Math.ceil(n / ROWS_PER_COLUMN)));
  for (let m = 1; m <= attached; m++) {
    const slots = layout.modules[m - 1] ?? [];
    const drawn = part(
      y,
      'module',
      `${moduleName} module ${m}, ${perModule} keys`,
      slots,
      model.moduleKeysPerPage ?? perModule,
      moduleColumns,
      `data-part="module-${m}"`,
    );
    parts.push(drawn.svg);
    y += drawn.height + PAD;
  }

  if (layout.unplaced.length > 0) {
    const heading = `${layout.unplaced.length} key${layout.unplaced.length === 1 ? '' : 's'} do not fit${
      supported > attached ? ` (up to ${supported} ${moduleName} modules fit this phone)` : ''
    }`;
    const g = grid(layout.unplaced.length, moduleColumns(layout.unplaced.length), 2 * PAD, y + HEADING, WIDTH - 4 * PAD);
    let body = `<text class="part-heading" x="${PAD}" y="${y + 14}">${escapeSvg(heading)}</text>`;
    for (const [i, k] of layout.unplaced.entries()) {
      const at = g.at(i);
      body += key(at.x, at.y, g.width, '–', k, `data-unplaced="${i + 1}"`);
    }
    parts.push(`<g class="unplaced" data-part="unplaced">${body}</g>`);
    y += HEADING + g.height + PAD;
  }

  const used = (slots: readonly KeySlot[]) => slots.filter((s) => s.fn.kind !== 'empty').length;
  const onModules = layout.modules.slice(0, attached).reduce((n, slots) => n + used(slots), 0);
  const title = `${picture.whose} on a ${picture.vendorName} ${model.name}`;
  const desc = `${used(layout.phone)} keys on the phone, ${onModules} on expansion modules, ${layout.unplaced.length} do not fit.`;
  return (
    `<svg class="phone-picture" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${y}" width="${WIDTH}" height="${y}" role="img" aria-labelledby="phone-picture-title phone-picture-desc">` +
    `<title id="phone-picture-title">${escapeSvg(title)}</title><desc id="phone-picture-desc">${escapeSvg(desc)}</desc>${parts.join('')}</svg>`
  );
}

/**
 * The keys a user gets on a model, as their profile lays them out (provisioning/profile.ts): their line, the
 * Logout key, then their own keys.
 */
export function seatedLayout(
  model: PictureModel,
  attachedModules: number,
  user: { readonly extension: string; readonly displayName: string },
  keys: readonly UserKey[],
  logoutCode: string,
): KeyLayout {
  const fixed: KeyFunction[] = [
    { kind: 'line', label: `${user.extension} ${user.displayName}`.trim() },
    { kind: 'logout', value: logoutCode, label: LOGOUT_KEY_LABEL },
  ];
  return layoutKeys(model, attachedModules, fixed, keys, model.name);
}

/** Modules needed for these keys on a model (none when they fit on the phone), at most what it supports. */
export function modulesNeeded(model: PictureModel, keys: readonly UserKey[]): number {
  const full = layoutKeys(
    model,
    0,
    [
      { kind: 'line', label: '' },
      { kind: 'logout', value: '', label: '' },
    ],
    keys,
    model.name,
  );
  const perModule = model.expansion?.keysPerModule ?? 0;
  if (full.unplaced.length === 0 || perModule === 0) return 0;
  return Math.min(model.expansion?.modules ?? 0, Math.ceil(full.unplaced.length / perModule));
}

/**
 * A device's picture: the keys its profile has now (whoever sits there, else the idle layout with its Login key),
 * on its model with the modules it has.
 */
export async function devicePictureSvg(
  deps: Pick<ConsoleDeps, 'adapters' | 'provisioning'>,
  device: DeviceRow,
  seated: { readonly displayName: string } | undefined,
): Promise<string> {
  const { model, layout } = await deps.provisioning.summary(device);
  const vendorName = deps.adapters.find((a) => a.id === device.vendor)?.profile.name ?? device.vendor;
  const whose = seated === undefined ? `Nobody (idle, ${device.idleAccount})` : seated.displayName;
  return phonePictureSvg({ vendorName, model, attachedModules: device.expansionModules, layout, whose });
}
