/**
 * A tfjs-layers CNN's predict through onnxruntime (onnx/layers_model.ts exports it): images NHWC
 * [B, H, W, C] → every model output NHWC, as tfjs tensors, synchronously. Inference only (no
 * gradients): use it where the CNN is a frozen feature extractor outside any loss.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { buildLayersModelOnnx } from '../onnx/layers_model.js';
import { SyncOrtSession, ortTensor, type SyncSessionOptions } from '../onnx/sync_session.js';

export interface OrtLayersModel {
  predict(x: Tensor): Tensor[];
  provider: string;
  release(): void;
}

/** Export `model` once and run it through onnxruntime. */
export function ortLayersModel(model: tf.LayersModel, opts: SyncSessionOptions = {}): OrtLayersModel {
  const session = SyncOrtSession.create(buildLayersModelOnnx(model), opts);
  return {
    provider: session.provider,
    release: () => session.release(),
    predict(x: Tensor): Tensor[] {
      const data = (x.dtype === 'float32' ? x : tf.tidy(() => x.toFloat())).dataSync() as Float32Array;
      const out = session.run({ input: ortTensor('float32', data, x.shape) });
      return session.outputNames.map((n) => { const o = out.get(n)!; return tf.tensor(o.data, o.dims, 'float32'); });
    },
  };
}
