/**
 * An image folder, walked recursively in sorted order. When the images sit in sub-folders, the
 * first-level sub-folder is the class (torchvision ImageFolder layout); images directly in the root
 * then have no class, so a mix of both is rejected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IMAGE_EXTENSIONS, UNREADABLE_IMAGE_EXTENSIONS, arrayDataset, type DatasetItem, type ImageDataset } from './dataset.js';

export interface ImageFolderOptions {
  /** Extensions to include (lower case, with dot). */
  extensions?: string[];
  /** Use sub-folder names as classes (default true when every image is in a sub-folder). */
  classes?: boolean;
}

export function imageFolder(dir: string, opts: ImageFolderOptions = {}): ImageDataset {
  const root = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new Error(`image folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`image folder ${dir} is not a directory`);
  const exts = new Set((opts.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
  const files: string[] = [];
  const unreadable: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.has(path.extname(e.name).toLowerCase())) files.push(path.relative(root, p));
      else if (UNREADABLE_IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) unreadable.push(path.relative(root, p));
    }
  };
  walk(root);
  if (unreadable.length) {
    const shown = unreadable.slice(0, 3).join(', ') + (unreadable.length > 3 ? ', …' : '');
    process.stderr.write(`warning: image folder ${dir}: skipping ${unreadable.length} image(s) of a type that cannot be decoded (${shown}); convert them to PNG to use them\n`);
  }
  if (files.length === 0) throw new Error(`image folder ${dir} contains no images (looked for ${[...exts].join(', ')})`);
  const nested = files.filter((f) => f.includes(path.sep));
  const useClasses = opts.classes ?? nested.length > 0;
  if (useClasses && nested.length !== files.length) {
    const loose = files.find((f) => !f.includes(path.sep));
    throw new Error(`image folder ${dir}: images are in class sub-folders but ${loose} is not; move it into a class folder or pass classes: false`);
  }
  const classes = useClasses ? [...new Set(files.map((f) => f.split(path.sep)[0]))].sort() : undefined;
  const index = new Map(classes?.map((c, i) => [c, i]));
  const items: DatasetItem[] = files.map((f) => ({ key: f.split(path.sep).join('/'), path: path.join(root, f), label: index.get(f.split(path.sep)[0]) }));
  return arrayDataset(dir, items, classes);
}
