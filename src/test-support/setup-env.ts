// This project's test set-up beside the shipped one (src/setup.ts): point CIFAR10_DIR at the shared
// JPEG copy when it sits beside the checkout.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const shared = resolve(process.cwd(), '../shared/datasets/cifar10-jpeg');
if (!process.env.CIFAR10_DIR && existsSync(shared)) process.env.CIFAR10_DIR = shared;
