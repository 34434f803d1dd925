import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Points CIFAR10_DIR at the shared JPEG copy beside the checkout when it is unset and the copy is
 * there, as the unit tests' setup does, so the bench scripts run with no environment set up.
 */
export function useSharedCifar(): void {
  const shared = fileURLToPath(new URL('../../../shared/datasets/cifar10-jpeg', import.meta.url));
  if (!process.env.CIFAR10_DIR && existsSync(shared)) process.env.CIFAR10_DIR = shared;
}
