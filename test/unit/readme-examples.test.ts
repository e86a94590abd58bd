/** The README shows exactly the commands the demo prints (for the default ports). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { curlExamples, DEFAULT_ENDPOINTS, natsExamples } from '../../src/demo/examples.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README examples', () => {
  it.each([...curlExamples(DEFAULT_ENDPOINTS), ...natsExamples(DEFAULT_ENDPOINTS.nats)])(
    'shows %s',
    (command) => {
      expect(readme).toContain(command);
    },
  );
});
