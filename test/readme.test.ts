// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('shows the snippet exactly as built (dist/snippet.min.js)', () => {
    const block = readme.match(/```html\n<script>\n([^\n]*)\n/);
    expect(block, 'README has an ```html block starting with <script> and the snippet').toBeTruthy();
    expect(block![1]).toBe(readFileSync('dist/snippet.min.js', 'utf8').trim());
  });

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });
});
