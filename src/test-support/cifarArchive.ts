// A stand-in for the official CIFAR-10 tarball (same member names and record format, a few
// records per batch), for tests that serve it from 127.0.0.1 instead of the authors' site.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { encodeCifarBinary } from '../data/cifarBinary.js';
import { type TarEntry, writeTar } from '../data/tar.js';

function batch(n: number, label: number): Uint8Array {
  return encodeCifarBinary(Uint8Array.from({ length: n * 3072 }, (_, i) => (i + label) % 251), new Array(n).fill(label));
}

export const standInMembers: TarEntry[] = [
  ...[1, 2, 3, 4, 5].map((k) => ({ name: `cifar-10-batches-bin/data_batch_${k}.bin`, data: batch(2, k) })),
  { name: 'cifar-10-batches-bin/test_batch.bin', data: batch(3, 0) },
  { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n') },
  { name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<html></html>') },
];

/** The gzipped tarball of {@link standInMembers} and its MD5. */
export const standInArchive = gzipSync(writeTar(standInMembers));
export const standInMd5 = createHash('md5').update(standInArchive).digest('hex');
