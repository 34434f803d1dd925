import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { ImageDataset } from './dataset.js';

// File layout: 8-byte magic, uint32 LE header length, JSON header, labels (1 or 4 bytes each), pixels.
const MAGIC = Buffer.from('RBDS0001', 'ascii');

interface Header {
  size: number;
  height: number;
  width: number;
  channels: number;
  labelBytes: 1 | 4;
  classNames: string[];
  ids: string[];
  /** Describes the source files, so a changed folder invalidates the cache. */
  fingerprint: string;
}

/** Writes a decoded dataset so the next run skips decoding (atomic: a killed write leaves no cache file). */
export function writeDatasetCache(path: string, ds: ImageDataset, fingerprint: string): void {
  const labelBytes = ds.classNames.length <= 256 ? 1 : 4;
  const header: Header = { size: ds.size, height: ds.height, width: ds.width, channels: ds.channels, labelBytes, classNames: [...ds.classNames], ids: [...ds.ids], fingerprint };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const labels = labelBytes === 1 ? Uint8Array.from(ds.labels) : new Uint8Array(Int32Array.from(ds.labels).buffer);
  writeFileAtomic(path, [MAGIC, len, json, labels, ds.pixels]);
}

/**
 * Reads a cache file written by {@link writeDatasetCache}. Returns undefined (and removes the
 * file) when it is stale or damaged, so the caller decodes afresh.
 */
export function readDatasetCache(path: string, fingerprint: string): ImageDataset | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const buf = readFileSync(path);
    if (!buf.subarray(0, 8).equals(MAGIC)) throw new Error('bad magic');
    const hlen = buf.readUInt32LE(8);
    const header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Header;
    if (header.fingerprint !== fingerprint) throw new Error('stale');
    const per = header.height * header.width * header.channels;
    const labelStart = 12 + hlen;
    const pixelStart = labelStart + header.size * header.labelBytes;
    if (buf.length !== pixelStart + header.size * per) throw new Error('wrong length');
    const labels =
      header.labelBytes === 1
        ? new Uint8Array(buf.buffer, buf.byteOffset + labelStart, header.size).slice()
        : new Int32Array(buf.buffer.slice(buf.byteOffset + labelStart, buf.byteOffset + pixelStart));
    const pixels = new Uint8Array(buf.buffer, buf.byteOffset + pixelStart, header.size * per);
    return new ImageDataset(pixels, labels, header.ids, header.classNames, header.height, header.width, header.channels);
  } catch {
    rmSync(path, { force: true });
    return undefined;
  }
}
