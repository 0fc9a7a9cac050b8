// Compiles the C helpers once before any test file runs.
import { buildHelpers } from './helpers/build';

export default function setup(): void {
  buildHelpers();
}
