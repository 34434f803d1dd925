import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An 8-bit RGB image, channels last. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes a PNG or JPEG (by content, not extension) to 8-bit RGB; alpha is dropped and gray is
 * expanded, so every image of a folder has three channels. Throws naming the file on bad data.
 */
export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      rgba = { width: png.width, height: png.height, data: png.data };
    } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
      rgba = { width: img.width, height: img.height, data: img.data };
    } else {
      throw new Error('not a PNG or JPEG file');
    }
  } catch (err) {
    throw new Error(`Cannot decode ${file}: ${err instanceof Error ? err.message : String(err)}. Replace or remove the file.`);
  }
  const { width, height } = rgba;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < width * height; p++, q += 4) {
    data[p * 3] = rgba.data[q]!;
    data[p * 3 + 1] = rgba.data[q + 1]!;
    data[p * 3 + 2] = rgba.data[q + 2]!;
  }
  return { width, height, data };
}
