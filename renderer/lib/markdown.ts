// Model output is untrusted: Markdown is rendered to HTML, then sanitized so that nothing in it
// can run script, load anything (remote images become their alt text) or navigate the window.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const marked = new Marked({ gfm: true, breaks: false, async: false });
const SAFE_LINK = /^(https?:|mailto:|#page-\d+$|#source-\d+$)/i;
const CITATION = /\[(pp?\.|part)\s*(\d+)(\s*[–-]\s*\d+)?\](?!\()/gi;

const purifier = DOMPurify();
const INTERNAL_LINK = /^#(page|source)-\d+$/;
const SHOWN_ADDRESS = /^(https?:|mailto:)/i;

purifier.addHook('uponSanitizeElement', (node, data) => {
  // A link in model output is text, never an anchor: nothing to click, middle-click or open in a
  // new tab. Its address is shown beside it (when it is a web or mail address) to be read or copied.
  if (data.tagName === 'a' && node instanceof Element && !INTERNAL_LINK.test(node.getAttribute('href') ?? '')) {
    const href = node.getAttribute('href') ?? '';
    const text = node.ownerDocument.createElement('span');
    text.className = 'link-as-text';
    text.textContent = node.textContent ?? '';
    if (SHOWN_ADDRESS.test(href) && href !== node.textContent) text.textContent += ` (${href})`;
    node.replaceWith(text);
    return;
  }
  // An image would be a request (a tracker, a leak): show what it is instead.
  if (data.tagName === 'img' && node instanceof Element) {
    const alt = node.getAttribute('alt') || 'image';
    const src = node.getAttribute('src') || '';
    const placeholder = node.ownerDocument.createElement('span');
    placeholder.className = 'blocked-image';
    placeholder.textContent = `[${alt}${src ? `: ${src}` : ''}]`;
    node.replaceWith(placeholder);
  }
});
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (!SAFE_LINK.test(href)) node.removeAttribute('href');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
    node.removeAttribute('target');
  }
});

const PURIFY_CONFIG = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math', 'img', 'video', 'audio', 'source', 'picture', 'link', 'meta', 'base'],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction', 'background', 'poster'],
  ALLOW_DATA_ATTR: false,
};

export function renderMarkdown(text: string, options: { citations?: boolean; sources?: number[] } = {}): string {
  // In summaries, [p. 12–13] becomes a link to page 12; in grounded answers, a checked [2] links to
  // source 2. Both are opened by the component, never navigated.
  let source = options.citations ? text.replace(CITATION, (whole, _l: string, first: string) => `[${whole.slice(1, -1)}](#page-${first})`) : text;
  // A summary point no page supports carries a visible mark, never a page.
  if (options.citations) source = source.replace(/\[no source\]/gi, '<span class="no-source">no source</span>');
  if (options.sources?.length) {
    const known = new Set(options.sources);
    source = source.replace(/\[(\d{1,3})\](?!\()/g, (whole, n: string) => (known.has(Number(n)) ? `[[${n}]](#source-${n})` : whole));
  }
  const html = marked.parse(source) as string;
  return purifier.sanitize(html, PURIFY_CONFIG) as string;
}
