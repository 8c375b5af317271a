/** The pixel reconstruction term of the decoder loss (docs/method.md, decoder losses): mean |x̂ − x|. */
import { tf, type Tensor } from '../../runtime/tf.js';

/** Mean absolute error over every element of two same-shape batches (e.g. [B, H, W, 3]) → scalar. */
export function l1Loss(xhat: Tensor, x: Tensor): tf.Scalar {
  if (xhat.shape.join() !== x.shape.join()) throw new Error(`l1Loss: shapes differ: [${xhat.shape}] vs [${x.shape}]`);
  return tf.tidy(() => xhat.sub(x).abs().mean() as tf.Scalar);
}
