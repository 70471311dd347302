import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mimeTypeOf, resolveInside } from '../../electron/core/static-files.ts';

describe('serving the renderer', () => {
  const root = '/app/dist/renderer';

  it('resolves files inside the renderer folder', () => {
    expect(resolveInside(root, '/index.html')).toBe(join(root, 'index.html'));
    expect(resolveInside(root, '/assets/index-abc.js')).toBe(join(root, 'assets', 'index-abc.js'));
    expect(resolveInside(root, '/')).toBe(root);
  });

  it('refuses paths that escape it, encoded or not, and malformed encodings', () => {
    for (const path of ['/../package.json', '/assets/../../secret', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fenclave.db', '/%E0%A4%A']) {
      expect(resolveInside(root, path), path).toBeNull();
    }
  });

  it('names content types, with a safe default', () => {
    expect(mimeTypeOf('a.js')).toBe('text/javascript; charset=utf-8');
    expect(mimeTypeOf('a.html')).toBe('text/html; charset=utf-8');
    expect(mimeTypeOf('a.exe')).toBe('application/octet-stream');
  });
});
