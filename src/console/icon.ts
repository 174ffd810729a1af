import type { Context } from 'koa';

/** The console's icon: a small SVG (an "h" on the console's blue), for its tabs and for `/favicon.ico`. */
export const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f6feb"/>' +
  '<path d="M10 7v18M10 18q0-6 6-6t6 6v7" fill="none" stroke="#fff" stroke-width="3.4" stroke-linecap="round" stroke-linejoin="round"/></svg>';

/** Answers the icon as an SVG image, cached for a day. */
export function answerIcon(ctx: Context): void {
  ctx.type = 'image/svg+xml';
  ctx.set('Cache-Control', 'max-age=86400');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = ICON_SVG;
}
