/** What the numbers were measured on. */
import * as os from 'node:os';
import { tf, currentBackend, wasmThreadsInUse, resolveOrtProvider } from '@raev2/core';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  backend: string;
  wasmThreads: number | null;
  onnxThreads: number;
  /** onnxruntime execution provider the engine sections ask for (RAEV2_ORT_PROVIDER; CPU fallback warns). */
  ortProvider: string;
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
    ortProvider: resolveOrtProvider(),
    tfjs: tf.version.tfjs,
  };
}

/** The process's peak resident set size so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function describeMachine(m: MachineInfo): string {
  const threads = m.wasmThreads != null ? `, wasm threads ${m.wasmThreads}` : '';
  return [
    `machine: ${m.cpu}, ${m.cores} logical cores, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `runtime: node ${m.node}, tfjs ${m.tfjs}, backend ${m.backend}${threads}; onnxruntime-node intra-op threads ${m.onnxThreads}, provider ${m.ortProvider}`,
  ].join('\n');
}
