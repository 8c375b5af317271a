/** The counterfactual-turn strip of the navworld report: predicted and true frames per action, as one inline PNG. */
import { encodeImage, imageGrid, toImageBytes } from '@raev2/core';
import type { EvalResult } from '../eval/evaluate.js';

/** The strip as a PNG data URI (3 images per row); disposes the strip's tensor. → undefined without a strip. */
export async function turnStripDataUri(strip: EvalResult['turnStrip']): Promise<string | undefined> {
  if (!strip) return undefined;
  try {
    const grid = await imageGrid(strip.images, { cols: 3, labels: strip.labels });
    try {
      return `data:image/png;base64,${(await encodeImage('turns.png', toImageBytes(grid))).toString('base64')}`;
    } finally {
      grid.dispose();
    }
  } finally {
    strip.images.dispose();
  }
}
