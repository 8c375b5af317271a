import { tf, initRuntime, loadSafetensors, SafetensorsFile, sincos2dTable } from './packages/core/src/index.ts';
await initRuntime({backend:'cpu'});
const d = '../shared/fixtures/reference/';
const f = SafetensorsFile.open(d+'rae_decoder/model.safetensors');
for (const k of f.keys()) console.log(k, f.info(k).dtype, f.info(k).shape.join('x'));
const pe = f.readHost('decoder_pos_embed').data as Float32Array;
const mine = sincos2dTable(32, 4, 4, true);
let m=0; for (let i=0;i<pe.length;i++) m=Math.max(m,Math.abs(pe[i]-mine[i])); console.log('posembed diff', m);
for (const fam of ['rae_ddt','raev2_ddt_ig']) { const g = SafetensorsFile.open(d+fam+'/model.safetensors'); console.log(fam, g.keys().map(k=>k+':'+g.info(k).shape.join('x')).join(' ')); }
