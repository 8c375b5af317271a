/**
 * Registers the `navigation` condition kind with core's DiT^DH (importing this package does it), so a
 * DiT config `{condition: {kind: 'navigation', …}}` builds the in-context navigation embedder.
 */
import { registerConditionKind } from '@raev2/core';
import { NavigationConditionEmbedder, NavigationConditionSchema, nullNavigationCondition } from './embedder.js';

registerConditionKind('navigation', {
  schema: NavigationConditionSchema,
  create: (p, dim, rng) => {
    const e = new NavigationConditionEmbedder(p, dim, rng);
    return Object.assign(e, { nullCondition: (b: number) => nullNavigationCondition(p, b) });
  },
});
