import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES } from './classes.js';
import { readImageFolder } from './imageFolder.js';

const root = mkdtempSync(join(tmpdir(), 'imgfolder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function png(w: number, h: number, value: (x: number, y: number, c: number) => number): Buffer {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 4; c++) img.data[(y * w + x) * 4 + c] = c === 3 ? 255 : value(x, y, c);
  return PNG.sync.write(img);
}

function jpg(w: number, h: number, gray: number): Buffer {
  const data = Buffer.alloc(w * h * 4, gray);
  return Buffer.from(jpeg.encode({ data, width: w, height: h }, 95).data);
}

function makeFolder(layout: Record<string, Record<string, Buffer>>, split = 'test'): string {
  const dir = mkdtempSync(join(root, 'ds-'));
  for (const [cls, files] of Object.entries(layout)) {
    mkdirSync(join(dir, split, cls), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, split, cls, name), bytes);
  }
  return dir;
}

describe('image folder reader', () => {
  it('reads PNG exactly and JPEG closely, labelling by folder', () => {
    const dir = makeFolder({
      cat: { 'a.png': png(4, 3, (x, y, c) => x * 10 + y * 50 + c) },
      dog: { 'b.jpg': jpg(4, 3, 200), 'c.jpeg': jpg(4, 3, 40) },
    });
    const ds = readImageFolder(dir, 'test', { cache: false, progress: false });
    expect(ds.size).toBe(3);
    expect([ds.height, ds.width, ds.channels]).toEqual([3, 4, 3]);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1]);
    expect(ds.ids).toEqual(['test/cat/a.png', 'test/dog/b.jpg', 'test/dog/c.jpeg']);
    // pixel (x=2, y=1), channel 1 of the PNG: 2*10 + 1*50 + 1
    expect(ds.pixels[(1 * 4 + 2) * 3 + 1]).toBe(71);
    const jpegPixels = ds.pixels.subarray(36, 72);
    expect(Math.max(...jpegPixels.map((v) => Math.abs(v - 200)))).toBeLessThanOrEqual(3);
  });

  it('uses the given class order for labels (CIFAR-10 order, not alphabetical)', () => {
    const dir = makeFolder({ truck: { '0.png': png(2, 2, () => 1) }, airplane: { '0.png': png(2, 2, () => 2) } });
    const ds = readImageFolder(dir, 'test', { classNames: CIFAR10_CLASSES, cache: false, progress: false });
    expect(Array.from(ds.labels)).toEqual([0, 9]);
    expect(ds.classNames).toHaveLength(10);
  });

  it('rejects an unknown class folder, naming it and the known classes', () => {
    const dir = makeFolder({ cat: { '0.png': png(2, 2, () => 1) }, kitten: { '0.png': png(2, 2, () => 1) } });
    expect(() => readImageFolder(dir, 'test', { classNames: CIFAR10_CLASSES, cache: false })).toThrow(/Unknown class folder 'kitten'.*airplane, automobile.*remove or rename it/);
  });

  it('rejects an image of the wrong size, naming the file', () => {
    const dir = makeFolder({ cat: { '0.png': png(4, 4, () => 1), '1.png': png(5, 4, () => 1) } });
    expect(() => readImageFolder(dir, 'test', { cache: false, progress: false })).toThrow(/1\.png is 5x4, but 1 of the 2 images of this dataset are 4x4\. Resize it to 4x4 or remove it/);
  });

  it('blames the odd image when it comes first, not the correct ones after it', () => {
    const dir = makeFolder({ cat: { '0.png': png(5, 4, () => 1), '1.png': png(4, 4, () => 1), '2.png': png(4, 4, () => 1) } });
    expect(() => readImageFolder(dir, 'test', { cache: false, progress: false })).toThrow(/^\S*cat\/0\.png is 5x4, but 2 of the 3 images of this dataset are 4x4\. Resize it to 4x4 or remove it\.$/);
  });

  it('rejects a class folder with no images, an empty split and a missing split', () => {
    const dir = makeFolder({ cat: { 'notes.txt': Buffer.from('x') } });
    expect(() => readImageFolder(dir, 'test', { cache: false })).toThrow(/cat holds no \.png or \.jpg images/);
    const empty = mkdtempSync(join(root, 'empty-'));
    mkdirSync(join(empty, 'test'));
    expect(() => readImageFolder(empty, 'test', { cache: false })).toThrow(/has no class folders/);
    expect(() => readImageFolder(empty, 'train', { cache: false })).toThrow(/train does not exist.*CIFAR10_DIR/);
  });

  it('names an undecodable image', () => {
    const dir = makeFolder({ cat: { '0.jpg': Buffer.from([0xff, 0xd8, 1, 2, 3]) } });
    expect(() => readImageFolder(dir, 'test', { cache: false })).toThrow(/Cannot decode .*0\.jpg/);
  });

  it('decodes once: a second read comes from the cache, and a changed folder invalidates it', () => {
    const dir = makeFolder({ cat: { '0.png': png(2, 2, () => 7) }, dog: { '0.png': png(2, 2, () => 9) } });
    const cache = mkdtempSync(join(root, 'cache-'));
    const first = readImageFolder(dir, 'test', { cache, progress: false });
    const files = readdirSync(cache);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.rds$/);
    // Garbage of the same size and time: only a read from the cache can still succeed.
    const path = join(dir, 'test', 'cat', '0.png');
    const st = statSync(path);
    const original = readFileSync(path);
    writeFileSync(path, Buffer.alloc(st.size, 0x55));
    utimesSync(path, st.atime, st.mtime);
    const again = readImageFolder(dir, 'test', { cache, progress: false });
    expect(again.pixels).toEqual(first.pixels);
    expect(again.ids).toEqual(first.ids);
    writeFileSync(path, original);
    writeFileSync(join(dir, 'test', 'dog', '0.png'), png(2, 2, () => 100));
    utimesSync(join(dir, 'test', 'dog', '0.png'), new Date(), new Date(Date.now() + 5000));
    const changed = readImageFolder(dir, 'test', { cache, progress: false });
    expect(changed.pixels[12]).toBe(100);
    expect(readdirSync(cache)).toHaveLength(1);
    expect(readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('throws away a damaged cache file and decodes again', () => {
    const dir = makeFolder({ cat: { '0.png': png(2, 2, () => 7) } });
    const cache = mkdtempSync(join(root, 'cache-'));
    readImageFolder(dir, 'test', { cache, progress: false });
    const file = join(cache, readdirSync(cache)[0]!);
    writeFileSync(file, Buffer.from('RBDS0001 truncated'));
    const ds = readImageFolder(dir, 'test', { cache, progress: false });
    expect(ds.pixels[0]).toBe(7);
    expect(existsSync(file)).toBe(true);
  });
});
