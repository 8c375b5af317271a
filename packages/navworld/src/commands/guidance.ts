/** The `--guidance` flag of the navworld commands: `free:<w>` (default free:1.78 on t ∈ [0.1, 1]), `cfg:<w>` (null condition = zeros), `free+cfg:<w_free>,<w_cfg>` or `none`. */
import { z } from 'zod';
import type { GuidanceConfigInput } from '@raev2/core';

/** A `--guidance` flag with its own default. */
export function guidanceFlag(dflt: string) {
  return z.string().default(dflt).transform(parseGuidance);
}

export const GuidanceFlag = guidanceFlag('free:1.78');

function parseGuidance(s: string, ctx: z.RefinementCtx): GuidanceConfigInput {
  const [method, arg = ''] = s.split(':');
  const nums = arg.split(',').filter(Boolean).map(Number);
  const bad = () => { ctx.addIssue({ code: 'custom', message: `"${s}": expected none, free:<w>, cfg:<w> or free+cfg:<w_free>,<w_cfg>` }); return z.NEVER; };
  if (nums.some((v) => !Number.isFinite(v) || v <= 0)) return bad();
  if (method === 'none' && nums.length === 0) return { method: 'none' };
  if (method === 'free' && nums.length === 1) return { method: 'free', freeScale: nums[0], freeInterval: [0.1, 1] };
  if (method === 'cfg' && nums.length === 1) return { method: 'cfg', cfgScale: nums[0] };
  if (method === 'free+cfg' && nums.length === 2) return { method: 'free+cfg', freeScale: nums[0], freeInterval: [0.1, 1], cfgScale: nums[1] };
  return bad();
}
