/**
 * VGG16-LPIPS (Zhang et al. 2018) from a user-supplied safetensors file, for users who have the
 * weights (they cannot be downloaded here). The file holds torchvision's VGG16 `features.<i>.weight`
 * [out, in, 3, 3] / `.bias` (or the lpips package's `net.slice<k>.<i>.*` names for the same layers)
 * and the LPIPS heads `lin<k>.model.1.weight` [1, C_k, 1, 1]. Channel widths are read from the file,
 * so a narrow random-weights file exercises the same code.
 *   d(x0, x1) = Σ_k mean_{h,w} Σ_c w_k,c · (n(f_k(x0)) − n(f_k(x1)))²_c,  n = unit norm over channels,
 * with f_k the ReLU outputs relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 of VGG16 on
 * (2x − 1 − shift)/scale (LPIPS's ScalingLayer).
 */
import * as fs from 'node:fs';
import { tf, type Tensor } from '../../runtime/tf.js';
import { loadSafetensors } from '../../io/safetensors.js';
import { unitNormalize } from './perceptual.js';

/** Indices of the 13 convs in torchvision's `vgg16().features`. */
export const VGG16_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28] as const;
/** A 2×2 max-pool precedes these convs. */
const POOL_BEFORE = new Set([5, 10, 17, 24]);
/** Convs whose ReLU output is an LPIPS tap (relu1_2 … relu5_3). */
const TAPS = [2, 7, 14, 21, 28];
/** LPIPS ScalingLayer constants. */
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188] as const;
export const LPIPS_SCALE = [0.458, 0.448, 0.45] as const;

/** lpips' `net.slice<k>.<i>` keeps torchvision's layer index i: map it back to `features.<i>`. */
function canonicalKey(key: string): string {
  const m = /^net\.slice\d+\.(\d+)\.(weight|bias)$/.exec(key);
  return m ? `features.${m[1]}.${m[2]}` : key;
}

export class LPIPS {
  private constructor(
    /** Conv filters [3, 3, in, out] and biases [out], in VGG16_CONVS order. */
    private readonly convs: { filter: Tensor; bias: Tensor }[],
    /** Head weights [C_k] per tap. */
    private readonly lins: Tensor[],
  ) {}

  /** Read and check a weights file; errors name the file and the key. */
  static fromFile(file: string): LPIPS {
    if (!fs.existsSync(file)) throw new Error(`LPIPS weights file ${file} not found`);
    const raw = loadSafetensors(file);
    const sd = new Map<string, Tensor>();
    for (const [k, t] of raw) sd.set(canonicalKey(k), t);
    const owned: Tensor[] = [];
    try {
      const need = (k: string): Tensor => {
        const t = sd.get(k);
        if (t == null) throw new Error(`${file}: missing tensor "${k}" (LPIPS needs features.{${VGG16_CONVS.join(',')}}.weight/bias and lin0…lin4.model.1.weight)`);
        return t;
      };
      let inCh = 3;
      const convs = VGG16_CONVS.map((i) => {
        const w = need(`features.${i}.weight`), b = need(`features.${i}.bias`);
        const [o, c, kh, kw] = w.shape;
        if (w.rank !== 4 || c !== inCh || kh !== 3 || kw !== 3) throw new Error(`${file}: features.${i}.weight has shape [${w.shape}], expected [out, ${inCh}, 3, 3]`);
        if (b.rank !== 1 || b.shape[0] !== o) throw new Error(`${file}: features.${i}.bias has shape [${b.shape}], expected [${o}]`);
        inCh = o;
        const filter = tf.tidy(() => w.toFloat().transpose([2, 3, 1, 0])); // torch [out,in,kh,kw] → tf [kh,kw,in,out]
        const bias = tf.tidy(() => b.toFloat().reshape([o]));
        owned.push(filter, bias);
        return { filter, bias };
      });
      const lins = TAPS.map((conv, k) => {
        const c = convs[VGG16_CONVS.indexOf(conv as (typeof VGG16_CONVS)[number])].bias.shape[0];
        const w = need(`lin${k}.model.1.weight`);
        if (w.size !== c || w.shape[0] !== 1) throw new Error(`${file}: lin${k}.model.1.weight has shape [${w.shape}], expected [1, ${c}, 1, 1]`);
        const t = tf.tidy(() => w.toFloat().reshape([c]));
        owned.push(t);
        return t;
      });
      return new LPIPS(convs, lins);
    } catch (e) {
      for (const t of owned) t.dispose();
      throw e;
    } finally {
      for (const t of raw.values()) t.dispose();
    }
  }

  /** images NHWC [0,1] → the five tapped VGG16 ReLU maps [B, H_k, W_k, C_k]. */
  features(images: Tensor): Tensor[] {
    return tf.tidy(() => {
      const shift = tf.tensor1d([...LPIPS_SHIFT]), scale = tf.tensor1d([...LPIPS_SCALE]);
      let x = images.mul(2).sub(1).sub(shift).div(scale) as tf.Tensor4D;
      const taps: Tensor[] = [];
      VGG16_CONVS.forEach((i, n) => {
        if (POOL_BEFORE.has(i)) x = tf.maxPool(x, 2, 2, 'valid');
        const { filter, bias } = this.convs[n];
        x = tf.relu(tf.conv2d(x, filter as tf.Tensor4D, 1, 'same').add(bias)) as tf.Tensor4D;
        if (TAPS.includes(i)) taps.push(x);
      });
      return taps;
    });
  }

  /** Per-image LPIPS distance [B] between two image batches NHWC [0,1]. */
  distance(a: Tensor, b: Tensor): Tensor {
    if (a.shape.join() !== b.shape.join()) throw new Error(`LPIPS: shapes differ: [${a.shape}] vs [${b.shape}]`);
    return tf.tidy(() => {
      const fa = this.features(a), fb = this.features(b);
      const per = fa.map((f, k) => {
        const d = unitNormalize(f).sub(unitNormalize(fb[k])).square(); // [B, H, W, C]
        const c = d.shape[3]!;
        const weighted = tf.matMul(d.reshape([-1, c]), this.lins[k].reshape([c, 1])); // 1×1 head
        return weighted.reshape([d.shape[0], -1]).mean(1);
      });
      return tf.addN(per);
    });
  }

  /** Batch-mean LPIPS → scalar (the loss upstream RAE uses). */
  loss(xhat: Tensor, x: Tensor): tf.Scalar {
    return tf.tidy(() => this.distance(xhat, x).mean() as tf.Scalar);
  }

  dispose(): void {
    for (const c of this.convs) {
      c.filter.dispose();
      c.bias.dispose();
    }
    for (const l of this.lins) l.dispose();
  }
}
