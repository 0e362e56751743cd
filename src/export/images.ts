/**
 * The images of an export: each creative's formats written once under images/ with stable names
 * (`<ad key>-<slot>-<w>x<h>.<ext>`), the brand's logo plates, and JPEG copies where a platform
 * suggests small files. Every image is measured from its bytes, never assumed.
 */
import { FORMAT_SPECS, type FormatName } from '../vocabulary.ts';
import type { ExportCreative, ExportImageTools, SlotImage } from './types.ts';

export class ExportImages {
  private readonly made = new Map<string, Promise<SlotImage>>();

  constructor(private readonly tools: ExportImageTools) {}

  /** Every image written so far, for the archive. */
  async all(): Promise<SlotImage[]> {
    return Promise.all(this.made.values());
  }

  private once(key: string, make: () => Promise<SlotImage>): Promise<SlotImage> {
    let p = this.made.get(key);
    if (!p) {
      p = make();
      this.made.set(key, p);
    }
    return p;
  }

  private async measure(path: (w: number, h: number, ext: string) => string, bytes: Uint8Array, safe?: SlotImage['safe']) {
    const info = await this.tools.info(bytes);
    const ext = info.type === 'jpeg' ? 'jpg' : info.type;
    return { path: path(info.width, info.height, ext), bytes, width: info.width, height: info.height, type: info.type, safe };
  }

  /** A format of a creative as rendered (PNG); undefined when the creative does not have it. */
  format(c: ExportCreative, f: FormatName): Promise<SlotImage> | undefined {
    const bytes = c.images[f];
    if (!bytes) return undefined;
    const spec = FORMAT_SPECS[f];
    const safe = c.safe?.[f] ?? { top: spec.safeTop, bottom: spec.safeBottom };
    return this.once(`${c.adKey}:${f}`, () => this.measure((w, h, ext) => `images/${c.adKey}-${f}-${w}x${h}.${ext}`, bytes, safe));
  }

  /** A format re-encoded as JPEG (smaller files where a platform suggests them). */
  jpeg(c: ExportCreative, f: FormatName): Promise<SlotImage> | undefined {
    const bytes = c.images[f];
    if (!bytes) return undefined;
    const spec = FORMAT_SPECS[f];
    const safe = c.safe?.[f] ?? { top: spec.safeTop, bottom: spec.safeBottom };
    return this.once(`${c.adKey}:${f}:jpeg`, async () =>
      this.measure((w, h, ext) => `images/${c.adKey}-${f}-${w}x${h}.${ext}`, await this.tools.jpeg(bytes), safe),
    );
  }

  /** The brand logo on a `w`×`h` plate, shared by every creative of the export. */
  logo(brandName: string, logo: Uint8Array, w: number, h: number, background: string): Promise<SlotImage> {
    return this.once(`logo:${w}x${h}`, async () =>
      this.measure((iw, ih, ext) => `images/logo-${brandName}-${iw}x${ih}.${ext}`, await this.tools.logoPlate(logo, w, h, background)),
    );
  }
}
