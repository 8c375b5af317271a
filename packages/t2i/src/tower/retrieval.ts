/** Image↔text retrieval top-1: row i of the image and text embeddings is a matching pair. */
import { tf, type Tensor } from '@raev2/core';
import { l2Normalize } from './sigmoid_loss.js';

export interface Retrieval {
  /** Share of images whose most similar text is their own caption. */
  imageToText: number;
  /** Share of captions whose most similar image is their own. */
  textToImage: number;
  /** 1 / M: top-1 by chance. */
  chance: number;
  count: number;
}

/** image embeddings [M, P], text embeddings [M, P] (pairs on the same row) → top-1 both ways (cosine). */
export function retrievalTop1(imageEmb: Tensor, textEmb: Tensor): Retrieval {
  const m = imageEmb.shape[0] as number;
  const [i2t, t2i] = tf.tidy(() => {
    const sim = tf.matMul(l2Normalize(imageEmb), l2Normalize(textEmb), false, true); // [M, M] images × texts
    const diag = tf.range(0, m, 1, 'int32');
    const hit = (arg: Tensor) => arg.equal(diag).sum().dataSync()[0] / m;
    return [hit(sim.argMax(1)), hit(sim.argMax(0))];
  });
  return { imageToText: i2t, textToImage: t2i, chance: 1 / m, count: m };
}
