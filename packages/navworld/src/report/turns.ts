/** The counterfactual-turn strip of the navworld report: predicted and true frames per action, as one inline PNG. */
import { encodeImage, imageGrid, tf, toImageBytes, type Tensor } from '@raev2/core';
import type { EvalResult } from '../eval/evaluate.js';

/**
 * Lay out counterfactual turns for the report: for each of the first `shown` contexts, the
 * predictions for each action (`pred[a]` [R, H, W, 3]) then the true frames (`truth[a]`).
 * The inputs stay the caller's. → images [shown·2·A, H, W, 3], a label per image, and 2·A images
 * per row of the strip (one context each).
 */
export function turnStrip(pred: readonly Tensor[], truth: readonly Tensor[], actions: readonly string[], shown: number): { images: Tensor; labels: string[]; cols: number } {
  const rows = Array.from({ length: shown }, (_, r) => r);
  const images = tf.tidy(() => tf.concat(rows.flatMap((r) => [...pred, ...truth].map((t) => t.slice(r, 1)))));
  const labels = rows.flatMap(() => [...actions.map((a) => `pred ${a}`), ...actions.map((a) => `true ${a}`)]);
  return { images, labels, cols: 2 * actions.length };
}

/** The strip as a PNG data URI (one context per row: its predictions, then the true frames); disposes the strip's tensor. → undefined without a strip. */
export async function turnStripDataUri(strip: EvalResult['turnStrip']): Promise<string | undefined> {
  if (!strip) return undefined;
  try {
    const grid = await imageGrid(strip.images, { cols: strip.cols, labels: strip.labels });
    try {
      return `data:image/png;base64,${(await encodeImage('turns.png', toImageBytes(grid))).toString('base64')}`;
    } finally {
      grid.dispose();
    }
  } finally {
    strip.images.dispose();
  }
}
