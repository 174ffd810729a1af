import { z } from 'zod';
import { validate } from '../domain/inputs.ts';

/**
 * Reading the console's forms into the domain's inputs: each page has a zod schema per form that turns the form's
 * strings (a ticked checkbox is "on", a blank field is "") into the shape the API takes, then pipes it into the
 * API's own schema (domain/inputs.ts), so the console accepts exactly what the API accepts and refuses it with
 * the same message.
 */

/**
 * A form's fields validated against its schema: the first value of each field (a browser sends one per input),
 * and every value of the fields named in `lists` (rows of inputs with one name, such as a user's keys).
 * @throws AppError invalid_field (400) naming the first field that is wrong.
 */
export function formInput<S extends z.ZodType>(form: URLSearchParams, schema: S, lists: readonly string[] = []): z.infer<S> {
  const first = new Map<string, string | string[]>();
  for (const [name, value] of form) if (!first.has(name)) first.set(name, value);
  for (const name of lists) first.set(name, form.getAll(name));
  return validate(schema, Object.fromEntries(first));
}

/**
 * The API's schema as the last step of a form's schema (`.pipe(api(UserCreateBody))`): zod types a pipe's target
 * by its own input, which the form's output only has to satisfy at run time, where the target checks it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the target's input is whatever the form's schema made; the target validates it
export const api = <S extends z.ZodType>(schema: S) => schema as unknown as z.ZodType<z.output<S>, any>;

/** A text field; one the form did not send is empty. */
export const textField = z.string().default('');

/** A checkbox: sent as "on" when ticked, not sent otherwise. */
export const checkbox = z
  .string()
  .optional()
  .transform((v) => v === 'on');

/** A text field where blank means none. */
export const blankIsNull = z
  .string()
  .optional()
  .transform((v) => blankToNull(v ?? ''));

/** A number field where blank means none; anything else is left for the API's schema to judge. */
export const numberOrNull = blankIsNull.transform((v) => (v === null ? null : Number(v)));

/**
 * A field that changes a setting only when the form has it (an older form leaves newer settings alone); sent
 * blank, it returns the setting to none.
 */
export const ifSentBlankIsNull = z
  .string()
  .optional()
  .transform((v) => (v === undefined ? undefined : blankToNull(v)));

/** A field that changes a setting only when the form has it and it is not blank. */
export const ifFilled = ifSentBlankIsNull.transform((v) => v ?? undefined);

/** A list typed into one field, separated by commas or spaces. */
export const listField = textField.transform((v) => v.split(/[\s,]+/).filter((item) => item !== ''));

/** A CSV import's form (devices or users): the sheet, and whether to write it (`import`) or only check it. */
export const ImportForm = z.object({ csv: textField, action: textField });

/** The input without the fields the form did not send (undefined), so they are left as they are. */
export const sentOnly = <T extends Record<string, unknown>>(input: T): T => Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as T;

function blankToNull(v: string): string | null {
  const trimmed = v.trim();
  return trimmed === '' ? null : trimmed;
}
