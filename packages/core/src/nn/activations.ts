/** Activation functions by their Hugging Face / PyTorch names. */
import { tf, type Tensor } from '../runtime/tf.js';

/** Exact GELU: x·Φ(x) with erf (PyTorch nn.GELU(), HF "gelu"). */
export const gelu = (x: Tensor): Tensor => tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));

/** tanh-approximated GELU (HF "gelu_pytorch_tanh", "gelu_new"). */
export const geluTanh = (x: Tensor): Tensor =>
  tf.tidy(() => x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)));

/** x·sigmoid(1.702x) (HF "quick_gelu", OpenAI CLIP). */
export const quickGelu = (x: Tensor): Tensor => tf.tidy(() => x.mul(tf.sigmoid(x.mul(1.702))));

/** x·sigmoid(x). */
export const silu = (x: Tensor): Tensor => tf.tidy(() => x.mul(tf.sigmoid(x)));

export const relu = (x: Tensor): Tensor => tf.relu(x);

const BY_NAME: Record<string, (x: Tensor) => Tensor> = {
  gelu,
  gelu_pytorch_tanh: geluTanh,
  gelu_new: geluTanh,
  gelu_fast: geluTanh,
  quick_gelu: quickGelu,
  silu,
  swish: silu,
  relu,
};

/** Look up an activation by its HF config name (`hidden_act`). */
export function activation(name: string): (x: Tensor) => Tensor {
  const f = BY_NAME[name];
  if (f == null) throw new Error(`unsupported activation "${name}" (supported: ${Object.keys(BY_NAME).join(', ')})`);
  return f;
}
