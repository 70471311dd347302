// Pictures of pages (scans and phone photos arrive as PNG, JPEG or TIFF) read by OCR, one page
// per image; a multi-page TIFF is one page per frame. Decoded sizes are checked before the pixels
// are: an image that would take gigabytes of memory is refused, not decoded.
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { decode as decodeTiff, pageCount as tiffPageCount } from 'tiff';
import UTIF from 'utif2';
import { UserFacingError } from '../../../contract/errors.ts';
import type { PageOcr } from './ocr.ts';
import { MAX_PAGES, pageList, tidyPageText, type PageSink } from './types.ts';

/** 150 million pixels: an A3 page scanned at 600 dpi is 70 million. */
export const MAX_IMAGE_PIXELS = 150_000_000;

const isTiff = (b: Uint8Array) => (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a);

function tooLarge(fileName: string, width: number, height: number): UserFacingError {
  return new UserFacingError(
    'document/too-large',
    `“${fileName}” is a picture of ${width.toLocaleString('en-US')} × ${height.toLocaleString('en-US')} pixels, more than Enclave reads (${MAX_IMAGE_PIXELS / 1_000_000} million pixels). Scan it at a lower resolution (300 dpi is enough for OCR).`,
  );
}

/** Width and height from an image's header, before any pixel is decoded (PNG, JPEG, GIF, BMP). */
export function imageSize(b: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50) return { width: view.getUint32(16), height: view.getUint32(20) };
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49) return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
  if (b[0] === 0xff && b[1] === 0xd8) {
    // JPEG: walk the markers to the first start-of-frame.
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      const length = view.getUint16(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: view.getUint16(i + 7), height: view.getUint16(i + 5) };
      }
      i += 2 + length;
    }
  }
  return null;
}

/** One TIFF frame as a PNG Tesseract can read. */
function tiffFrameToPng(frame: ReturnType<typeof decodeTiff>[number]): Buffer {
  const { width, height, components, bitsPerSample } = frame;
  const data = frame.data as ArrayLike<number>;
  const max = bitsPerSample === 16 ? 65535 : bitsPerSample === 1 ? 1 : 255;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  const px = image.data;
  const palette = frame.palette;
  // Photometric interpretation 0 (WhiteIsZero) inverts grey.
  const invert = frame.type === 0;
  for (let i = 0, p = 0; i < width * height; i++, p += 4) {
    if (palette) {
      const [r, g, b] = palette[data[i]] ?? [0, 0, 0];
      px[p] = r >> 8;
      px[p + 1] = g >> 8;
      px[p + 2] = b >> 8;
    } else if (components >= 3) {
      px[p] = (data[i * components] / max) * 255;
      px[p + 1] = (data[i * components + 1] / max) * 255;
      px[p + 2] = (data[i * components + 2] / max) * 255;
    } else {
      let v = (data[i * components] / max) * 255;
      if (invert) v = 255 - v;
      px[p] = px[p + 1] = px[p + 2] = v;
    }
    px[p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas.toBuffer('image/png');
}

/**
 * A TIFF frame the `tiff` decoder cannot read, by UTIF (it decodes CCITT Group 3 and 4, the
 * compression of faxes and of most office scanners, and old-style JPEG): RGBA made into a PNG.
 */
function tiffFrameByUtif(data: Uint8Array, index: number): Buffer | null {
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const ifds = UTIF.decode(buffer).filter((ifd) => ifd.t256 !== undefined);
  const ifd = ifds[index];
  if (!ifd) return null;
  UTIF.decodeImage(buffer, ifd);
  const width = ifd.width as number;
  const height = ifd.height as number;
  if (!width || !height || width * height > MAX_IMAGE_PIXELS) return null;
  const rgba = UTIF.toRGBA8(ifd);
  if (rgba.length !== width * height * 4) return null;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  image.data.set(rgba);
  ctx.putImageData(image, 0, 0);
  return canvas.toBuffer('image/png');
}

export async function readImage(data: Uint8Array, fileName: string, sink: PageSink, ocr: PageOcr): Promise<void> {
  const doubtful: number[] = [];
  const record = (n: number, text: string, confidence: number) => {
    if (text.trim() && confidence < 70) doubtful.push(n);
    sink.page(n, tidyPageText(text), text.trim() ? confidence : null);
  };
  if (isTiff(data)) {
    let frames: number;
    try {
      frames = tiffPageCount(data);
      for (const ifd of decodeTiff(data, { ignoreImageData: true })) {
        if (ifd.width * ifd.height > MAX_IMAGE_PIXELS) throw tooLarge(fileName, ifd.width, ifd.height);
      }
    } catch (e) {
      if (e instanceof UserFacingError) throw e;
      throw new UserFacingError('document/corrupt', `“${fileName}” is a damaged TIFF image: it cannot be read. Open it in an image viewer and save it again, or scan it to PDF.`);
    }
    const pages = Math.min(frames, MAX_PAGES);
    sink.meta({ pageCount: pages, paginated: true, title: null });
    const unsupported: number[] = [];
    for (let n = 1; n <= pages; n++) {
      let png: Buffer | null = null;
      try {
        png = tiffFrameToPng(decodeTiff(data, { pages: [n - 1] })[0]);
      } catch {
        // A compression that decoder lacks (CCITT fax, old JPEG): UTIF decodes those.
        try {
          png = tiffFrameByUtif(data, n - 1);
        } catch {
          png = null;
        }
        // Tesseract reads some others itself.
        if (!png && frames === 1) png = Buffer.from(data);
      }
      if (!png) {
        unsupported.push(n);
        sink.page(n, '');
        continue;
      }
      const read = await ocr.readImage(png).catch(() => null);
      if (!read) unsupported.push(n);
      record(n, read?.text ?? '', read?.confidence ?? 0);
    }
    if (unsupported.length) sink.notice(`${pageList(unsupported)} of “${fileName}” use an image compression Enclave cannot decode. Scan them to PDF or PNG and add that.`);
    if (frames > MAX_PAGES) sink.notice(`Only the first ${MAX_PAGES.toLocaleString('en-US')} of ${frames.toLocaleString('en-US')} pages were read.`);
  } else {
    const size = imageSize(data);
    if (size && size.width * size.height > MAX_IMAGE_PIXELS) throw tooLarge(fileName, size.width, size.height);
    let png: Buffer;
    try {
      const image = await loadImage(Buffer.from(data));
      if (image.width * image.height > MAX_IMAGE_PIXELS) throw tooLarge(fileName, image.width, image.height);
      const canvas = createCanvas(image.width, image.height);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#ffffff'; // transparent pixels are paper, not black
      ctx.fillRect(0, 0, image.width, image.height);
      ctx.drawImage(image, 0, 0);
      png = canvas.toBuffer('image/png');
    } catch (e) {
      if (e instanceof UserFacingError) throw e;
      throw new UserFacingError('document/corrupt', `“${fileName}” is a damaged or unsupported image: it cannot be decoded. Save it again as PNG or JPEG, or scan it to PDF.`);
    }
    sink.meta({ pageCount: 1, paginated: true, title: null });
    const read = await ocr.readImage(png);
    record(1, read.text, read.confidence);
  }
  if (doubtful.length) sink.notice(`OCR was unsure of ${pageList(doubtful)}: words there may be misread. Check them against the original.`);
}
