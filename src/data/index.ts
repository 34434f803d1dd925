// Public names of src/data, re-exported by src/index.ts.
export { makeSamples, assertUnitRange } from './samples.js';
export type { Samples } from './samples.js';
export { ImageDataset, resolveClasses } from './dataset.js';
export { cifar10, cifar10Dataset, locateCifar10 } from './cifar10.js';
export type { Cifar10Options, Cifar10Source, Split } from './cifar10.js';
export { CIFAR10_CLASSES } from './classes.js';
export type { Cifar10Class } from './classes.js';
export { readCifarBinary, encodeCifarBinary, findCifarBinaryDir, CIFAR_RECORD_BYTES } from './cifarBinary.js';
export { readImageFolder, listImageFolder } from './imageFolder.js';
export type { ImageFolderOptions } from './imageFolder.js';
export { downloadCifar10, CIFAR10_URL, CIFAR10_MD5 } from './download.js';
export { readEmbeddedSample, EMBEDDED_SAMPLE_CAVEAT } from './embeddedSample.js';
export type { DownloadOptions } from './download.js';
export { decodeImage } from './decodeImage.js';
export type { RgbImage } from './decodeImage.js';
export { cacheDir } from './cacheDir.js';
export { gaussianBlur, gaussianKernel1d, blurRadius } from './blur.js';
export { gaussianNoise, uniformNoise } from './noise.js';
