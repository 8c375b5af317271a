/** Flag value helpers: parseArgs gives strings; these zod pieces turn them into numbers and switches (errors name the flag). */
import { z } from 'zod';

export const num = z.string().regex(/^-?\d+(\.\d+)?(e-?\d+)?$/i, 'must be a number').transform(Number);
export const int = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number);
export const onOff = z.enum(['on', 'off']).transform((v) => v === 'on');
export const str = { type: 'string' } as const;
