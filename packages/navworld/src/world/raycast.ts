/**
 * First-person raycaster (pure TypeScript, typed arrays). Pinhole camera at height 0.5 m between a
 * floor and a ceiling 1 m apart, horizontal field of view `fov`, square pixels, focal length
 * f = (W/2)/tan(fov/2). Column c casts the ray dir + right·((c + ½ − W/2)/f) through the grid with
 * DDA; a wall at forward distance d spans f/d rows centred on the horizon. Floor rows are cast back to
 * the ground plane (a 1 m checker); walls and floor darken with distance (fog). Posters (emoji) are
 * alpha-blended on the middle of their wall face.
 */
import { headingVectors, type Pose } from './pose.js';
import { cellAt, posterKey, type GridMap } from './map.js';
import { TEX, wallTexture } from './textures.js';
import { POSTER, type PosterSet } from './posters.js';

export interface CameraOptions {
  /** Image side in px (square). */
  size: number;
  /** Horizontal field of view in radians (default 90°). */
  fov?: number;
}

/** Output of one ray: forward distance and which face it hit (for tests and the top-down map). */
export interface RayHit {
  distance: number;
  cx: number;
  cy: number;
  side: 'W' | 'E' | 'S' | 'N';
  /** Horizontal texture coordinate along the face in [0, 1). */
  u: number;
}

/** Cast one ray from (x, y) along (rx, ry) (any length; distance is in units of that length). */
export function castRay(m: GridMap, x: number, y: number, rx: number, ry: number, maxSteps = 512): RayHit {
  let cx = Math.floor(x), cy = Math.floor(y);
  const ddx = rx === 0 ? Infinity : Math.abs(1 / rx), ddy = ry === 0 ? Infinity : Math.abs(1 / ry);
  const sx = rx < 0 ? -1 : 1, sy = ry < 0 ? -1 : 1;
  let tx = rx < 0 ? (x - cx) * ddx : (cx + 1 - x) * ddx;
  let ty = ry < 0 ? (y - cy) * ddy : (cy + 1 - y) * ddy;
  for (let k = 0; k < maxSteps; k++) {
    let vertical: boolean;
    if (tx < ty) { cx += sx; vertical = true; } else { cy += sy; vertical = false; }
    if (cellAt(m, cx, cy) !== 0) {
      const d = vertical ? tx : ty;
      // face seen from the free side: a ray going +x hits the wall's west face
      const side = vertical ? (sx > 0 ? 'W' : 'E') : (sy > 0 ? 'S' : 'N');
      const hit = vertical ? y + d * ry : x + d * rx;
      let u = hit - Math.floor(hit);
      // texture runs left → right as seen from the free side
      if (side === 'W' || side === 'N') u = 1 - u;
      return { distance: d, cx, cy, side, u };
    }
    if (vertical) tx += ddx; else ty += ddy;
  }
  return { distance: Infinity, cx, cy, side: 'N', u: 0 };
}

/** Focal length in px of a camera. */
export function focalLength(cam: CameraOptions): number {
  return cam.size / 2 / Math.tan((cam.fov ?? Math.PI / 2) / 2);
}

const FOG = 0.12;
const shade = (d: number) => 1 / (1 + FOG * d);

/**
 * Render the view from `pose`: RGB bytes [size, size, 3] (row 0 at the top). `out` may be passed to
 * reuse a buffer.
 */
export function renderFrame(m: GridMap, pose: Pose, cam: CameraOptions, posters: PosterSet | null, out?: Uint8Array): Uint8Array {
  const W = cam.size, H = cam.size;
  const f = focalLength(cam);
  const img = out ?? new Uint8Array(W * H * 3);
  if (img.length !== W * H * 3) throw new Error(`renderFrame: buffer of ${img.length} bytes, need ${W * H * 3}`);
  const { dir, right } = headingVectors(pose.yaw);
  const half = H / 2;
  // ceiling: flat, darker toward the horizon
  for (let r = 0; r < half; r++) {
    const a = 0.55 + 0.45 * ((half - r) / half);
    for (let c = 0; c < W; c++) {
      const o = (r * W + c) * 3;
      img[o] = 175 * a; img[o + 1] = 185 * a; img[o + 2] = 200 * a;
    }
  }
  // floor: cast each pixel to the ground plane, 1 m checker, fog
  for (let r = Math.ceil(half - 0.5); r < H; r++) {
    const dy = r + 0.5 - half;
    if (dy <= 0) continue;
    const d = (0.5 * f) / dy; // forward distance of the ground point
    const fog = shade(d);
    for (let c = 0; c < W; c++) {
      const k = (c + 0.5 - W / 2) / f;
      const gx = pose.x + d * (dir[0] + k * right[0]), gy = pose.y + d * (dir[1] + k * right[1]);
      const checker = (Math.floor(gx) + Math.floor(gy)) & 1;
      const base = checker ? 120 : 90;
      const o = (r * W + c) * 3;
      img[o] = base * fog + 20; img[o + 1] = base * 0.85 * fog + 15; img[o + 2] = base * 0.7 * fog + 10;
    }
  }
  // walls
  for (let c = 0; c < W; c++) {
    const k = (c + 0.5 - W / 2) / f;
    const rx = dir[0] + k * right[0], ry = dir[1] + k * right[1];
    const hit = castRay(m, pose.x, pose.y, rx, ry);
    if (!Number.isFinite(hit.distance)) continue;
    const d = Math.max(hit.distance, 1e-3);
    const top = half - (0.5 * f) / d, bottom = half + (0.5 * f) / d; // wall spans [top, bottom) in px
    const r0 = Math.max(0, Math.ceil(top - 0.5)), r1 = Math.min(H, Math.ceil(bottom - 0.5));
    const tex = wallTexture(cellAt(m, hit.cx, hit.cy));
    const fog = shade(d) * (hit.side === 'E' || hit.side === 'W' ? 1 : 0.82);
    const tu = Math.min(TEX - 1, Math.floor(hit.u * TEX));
    const pIdx = m.posterAt.get(posterKey(hit.cx, hit.cy, hit.side));
    const poster = pIdx != null && posters ? posters.images[m.posters[pIdx].image % posters.images.length] : null;
    const pu = (hit.u - 0.2) / 0.6;
    for (let r = r0; r < r1; r++) {
      const v = (r + 0.5 - top) / (bottom - top); // 0 top of wall, 1 bottom
      const tv = Math.min(TEX - 1, Math.max(0, Math.floor(v * TEX)));
      const to = (tv * TEX + tu) * 3;
      let R = tex[to], G = tex[to + 1], B = tex[to + 2];
      if (poster && pu >= 0 && pu < 1) {
        const pv = (v - 0.2) / 0.6;
        if (pv >= 0 && pv < 1) {
          const po = (Math.floor(pv * POSTER) * POSTER + Math.floor(pu * POSTER)) * 4;
          // white card behind the emoji
          const a = poster[po + 3] / 255;
          R = 245 * (1 - a) + poster[po] * a; G = 245 * (1 - a) + poster[po + 1] * a; B = 240 * (1 - a) + poster[po + 2] * a;
        }
      }
      const o = (r * W + c) * 3;
      img[o] = R * fog; img[o + 1] = G * fog; img[o + 2] = B * fog;
    }
  }
  return img;
}
