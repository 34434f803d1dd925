// Test setup: point CIFAR10_DIR at the shared JPEG copy when it sits beside the checkout, and
// choose the tfjs backend before any test touches a tensor.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { initBackend } from '../backend/index.js';

const shared = resolve(process.cwd(), '../shared/datasets/cifar10-jpeg');
if (!process.env.CIFAR10_DIR && existsSync(shared)) process.env.CIFAR10_DIR = shared;

await initBackend({ announce: false });
