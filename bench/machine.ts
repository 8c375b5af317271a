/** What the numbers were measured on. */
import * as os from 'node:os';
import { tf, currentBackend, wasmThreadsInUse } from '@raev2/core';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  backend: string;
  wasmThreads: number | null;
  onnxThreads: number;
  tfjs: string;
}

export function machineInfo(onnxThreads: number): MachineInfo {
  const cpus = os.cpus();
  const backend = currentBackend() ?? tf.getBackend();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    backend,
    wasmThreads: backend === 'wasm' ? wasmThreadsInUse() : null,
    onnxThreads,
    tfjs: tf.version.tfjs,
  };
}

export function describeMachine(m: MachineInfo): string {
  const threads = m.wasmThreads != null ? `, wasm threads ${m.wasmThreads}` : '';
  return [
    `machine: ${m.cpu}, ${m.cores} logical cores, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `runtime: node ${m.node}, tfjs ${m.tfjs}, backend ${m.backend}${threads}; onnxruntime-node intra-op threads ${m.onnxThreads}`,
  ].join('\n');
}
