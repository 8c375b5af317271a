/**
 * The one tfjs entry point of the project. Every file imports tensors from here so that all
 * packages (and tfjs-layers models such as the nsfwjs encoders) share a single engine.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
export type Rank = tf.Rank;
