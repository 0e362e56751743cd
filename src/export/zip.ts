/**
 * A zip archive writer, in memory: each entry stored (PNG and JPEG are compressed already) or
 * deflated (CSV, JSON, text) — whichever is smaller — with its CRC-32, UTF-8 names, and a fixed
 * timestamp so the same export gives the same bytes. Node has DEFLATE (zlib) but no zip container;
 * the container is the few dozen lines of APPNOTE.TXT (PKWARE's .ZIP File Format Specification,
 * sections 4.3.7 local file header, 4.3.12 central directory header, 4.3.16 end of central
 * directory record) written here. No ZIP64: an archive stays under 4 GiB and 65,535 entries,
 * far above an ad export, and larger is refused rather than written wrong.
 */
import { deflateRawSync } from 'node:zlib';
import { InputError } from '../errors.ts';

export interface ZipEntry {
  /** Path inside the archive, "/"-separated, no leading "/" or "..". */
  name: string;
  data: Uint8Array | string;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, the polynomial zip uses). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** MS-DOS date and time (2-second resolution, 1980–2107), as zip headers keep them. */
function dosTime(d: Date): { time: number; date: number } {
  const year = Math.min(2107, Math.max(1980, d.getUTCFullYear()));
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

const MAX = 0xffffffff;
const UTF8_FLAG = 0x0800;

/** The archive's bytes. Entry names must be unique and safe; `modified` stamps every entry. */
export function writeZip(entries: ZipEntry[], modified = new Date(Date.UTC(2020, 0, 1))): Uint8Array {
  if (entries.length > 0xffff)
    throw new InputError('ZIP_TOO_LARGE', `a zip without ZIP64 holds at most 65535 entries; got ${entries.length}`);
  const seen = new Set<string>();
  const { time, date } = dosTime(modified);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    if (!e.name || e.name.startsWith('/') || e.name.split('/').some((p) => p === '..' || p === '') || e.name.includes('\\')) {
      throw new InputError(
        'ZIP_BAD_NAME',
        `zip entry name ${JSON.stringify(e.name)} must be a relative path without "..", "\\" or empty parts`,
      );
    }
    if (seen.has(e.name)) throw new InputError('ZIP_BAD_NAME', `zip entry ${JSON.stringify(e.name)} appears twice`);
    seen.add(e.name);
    const raw = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const deflated = raw.length ? deflateRawSync(raw, { level: 9 }) : raw;
    const deflate = deflated.length < raw.length;
    const body = deflate ? deflated : raw;
    if (raw.length >= MAX || body.length >= MAX || offset >= MAX) {
      throw new InputError('ZIP_TOO_LARGE', `zip entry ${e.name} does not fit a zip without ZIP64 (4 GiB)`);
    }
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(raw);
    const method = deflate ? 8 : 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(UTF8_FLAG, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: UNIX, spec 2.0 (so the mode below is read)
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(UTF8_FLAG, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}
