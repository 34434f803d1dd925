/** One regular file of a tar archive. */
export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function field(buf: Uint8Array, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const end = slice.indexOf(0);
  return Buffer.from(end === -1 ? slice : slice.subarray(0, end)).toString('utf8');
}

/**
 * Lists the regular files of an uncompressed ustar/GNU tar archive (enough for the CIFAR-10
 * tarball; no dependency needed). Throws on a truncated archive or a bad header checksum.
 */
export function readTar(archive: Uint8Array, source = 'archive'): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= archive.length) {
    const header = archive.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const stored = parseInt(field(header, 148, 8).trim() || '0', 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== stored) throw new Error(`${source} is corrupt: tar header at byte ${off} fails its checksum. Delete it and download again.`);
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const prefix = field(header, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    const dataStart = off + 512;
    if (dataStart + size > archive.length) throw new Error(`${source} is truncated: ${name} needs ${size} bytes past byte ${dataStart}. Delete it and download again.`);
    const data = archive.subarray(dataStart, dataStart + size);
    if (type === 'L') longName = field(data, 0, size);
    else if (type === '0' || type === '\0') out.push({ name: name.replace(/^\.\//, ''), data });
    off = dataStart + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Writes a ustar archive of regular files (tests use it to build a stand-in CIFAR-10 tarball). */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const header = new Uint8Array(512);
    const put = (s: string, at: number) => header.set(Buffer.from(s, 'utf8'), at);
    if (Buffer.byteLength(e.name) > 100) throw new Error(`writeTar: name longer than 100 bytes: ${e.name}`);
    put(e.name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148);
    header[156] = '0'.charCodeAt(0);
    put('ustar\0', 257);
    put('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, e.data, new Uint8Array((512 - (e.data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}
