// Generates the GGUF fixtures once per run, from seeded code: the suite needs nothing outside the repo.
import { generateFixtures } from './fixtures/paths.ts';

export default function setup(): void {
  generateFixtures();
}
