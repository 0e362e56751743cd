/**
 * Request bodies checked against OpenAI's published API description: the excerpt of
 * github.com/openai/openai-openapi vendored in test/fixtures/openai/ (the three operations the
 * bot calls and every schema they reach). The subset of JSON Schema the description uses is
 * enforced: $ref, allOf, anyOf, oneOf (exactly one; by the discriminator where there is one),
 * type (3.1 arrays and `nullable`), enum, required, properties, additionalProperties, items,
 * minItems/maxItems, minLength/maxLength, pattern, minimum/maximum, format binary (a file part).
 * Top-level properties the operation does not define are refused, as the API refuses them
 * ("Unrecognized request argument supplied").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Schema = Record<string, unknown>;

export interface Spec {
  source: string;
  paths: Record<string, { post: { requestBody: { content: Record<string, { schema: Schema }> } } }>;
  components: { schemas: Record<string, Schema> };
}

/** A file part of a multipart body. */
export interface FilePart {
  kind: 'file';
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface SchemaProblem {
  /** Where, as the API names it: `messages[0].role`, `size`. */
  param: string;
  message: string;
  code: 'missing_required_parameter' | 'invalid_type' | 'invalid_value' | 'unknown_parameter';
}

let cached: Spec | undefined;

export function openapi(): Spec {
  cached ??= JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'openai', 'openapi-excerpt.json'), 'utf8')) as Spec;
  return cached;
}

function resolve(s: Schema, spec: Spec): Schema {
  let cur = s;
  for (let i = 0; i < 20 && typeof cur.$ref === 'string'; i++) {
    const name = (cur.$ref as string).replace('#/components/schemas/', '');
    const next = spec.components.schemas[name];
    if (!next) throw new Error(`the vendored description has no schema ${name}`);
    cur = next;
  }
  return cur;
}

const isFile = (v: unknown): v is FilePart => typeof v === 'object' && v !== null && (v as FilePart).kind === 'file';

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isFile(v)) return 'file';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(t: string, v: unknown, format: unknown): boolean {
  const actual = typeOf(v);
  if (actual === 'file') return t === 'string' && format === 'binary';
  if (t === 'number') return actual === 'number' || actual === 'integer';
  return t === actual;
}

const quote = (xs: unknown[]) =>
  xs.length <= 1
    ? xs.map((x) => `'${x}'`).join('')
    : `${xs
        .slice(0, -1)
        .map((x) => `'${x}'`)
        .join(', ')}, and '${xs.at(-1)}'`;

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function join2(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** Every problem of `v` against `s` (empty: valid). */
export function check(spec: Spec, schema: Schema, v: unknown, path = ''): SchemaProblem[] {
  const s = resolve(schema, spec);
  const out: SchemaProblem[] = [];
  if (v === null && (s.nullable === true || (Array.isArray(s.type) && s.type.includes('null')) || s.type === 'null')) return out;
  for (const sub of (s.allOf as Schema[] | undefined) ?? []) out.push(...check(spec, sub, v, path));
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alts) {
    const disc = (s.discriminator as { propertyName?: string } | undefined)?.propertyName;
    let candidates = alts;
    if (disc && typeOf(v) === 'object' && (v as Record<string, unknown>)[disc] !== undefined) {
      const tag = (v as Record<string, unknown>)[disc];
      candidates = alts.filter((a) => {
        const p = (resolve(a, spec).properties as Record<string, Schema> | undefined)?.[disc];
        const e = p ? (resolve(p, spec).enum as unknown[] | undefined) : undefined;
        return !e || e.includes(tag);
      });
      if (candidates.length === 0) {
        out.push({
          param: join2(path, disc),
          code: 'invalid_value',
          message: `Invalid value: '${String(tag)}' for '${join2(path, disc)}'.`,
        });
        return out;
      }
    }
    const results = candidates.map((a) => check(spec, a, v, path));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok === 0) {
      // The closest alternative says best what is wrong.
      out.push(...results.reduce((a, b) => (b.length < a.length ? b : a)));
      return out;
    }
    if (s.oneOf && ok > 1 && !disc) {
      out.push({
        param: path,
        code: 'invalid_value',
        message: `Invalid value for '${path}': it matches more than one of the allowed shapes.`,
      });
    }
  }
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types.length && !types.some((t) => typeMatches(t, v, s.format))) {
    const want = types.filter((t) => t !== 'null').join(' or ');
    out.push({
      param: path,
      code: 'invalid_type',
      message: `Invalid type for '${path}': expected ${article(s.format === 'binary' ? 'file' : want)}, but got ${article(typeOf(v))} instead.`,
    });
    return out;
  }
  if (s.format === 'binary' && types.includes('string') && !isFile(v)) {
    out.push({
      param: path,
      code: 'invalid_type',
      message: `Invalid type for '${path}': expected a file, but got ${article(typeOf(v))} instead.`,
    });
    return out;
  }
  if (Array.isArray(s.enum) && !s.enum.includes(v)) {
    out.push({ param: path, code: 'invalid_value', message: `Invalid value: '${String(v)}'. Supported values are: ${quote(s.enum)}.` });
    return out;
  }
  if (typeof v === 'string') {
    if (typeof s.maxLength === 'number' && v.length > s.maxLength)
      out.push({
        param: path,
        code: 'invalid_value',
        message: `'${path}' is too long: ${v.length} characters; the maximum is ${s.maxLength}.`,
      });
    if (typeof s.minLength === 'number' && v.length < s.minLength)
      out.push({ param: path, code: 'invalid_value', message: `'${path}' is too short; the minimum length is ${s.minLength}.` });
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v))
      out.push({ param: path, code: 'invalid_value', message: `'${path}' does not match ${s.pattern}.` });
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum)
      out.push({ param: path, code: 'invalid_value', message: `Invalid '${path}': ${v} is less than the minimum of ${s.minimum}.` });
    if (typeof s.maximum === 'number' && v > s.maximum)
      out.push({ param: path, code: 'invalid_value', message: `Invalid '${path}': ${v} is greater than the maximum of ${s.maximum}.` });
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems)
      out.push({
        param: path,
        code: 'invalid_value',
        message: `Invalid '${path}': empty array. Expected an array with minimum length ${s.minItems}.`,
      });
    if (typeof s.maxItems === 'number' && v.length > s.maxItems)
      out.push({
        param: path,
        code: 'invalid_value',
        message: `Invalid '${path}': array too long. Expected an array with maximum length ${s.maxItems}, but got ${v.length}.`,
      });
    if (s.items) for (const [i, x] of v.entries()) out.push(...check(spec, s.items as Schema, x, join2(path, i)));
  }
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of (s.required as string[] | undefined) ?? [])
      if (o[k] === undefined)
        out.push({
          param: join2(path, k),
          code: 'missing_required_parameter',
          message: `Missing required parameter: '${join2(path, k)}'.`,
        });
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, x] of Object.entries(o)) {
      if (x === undefined) continue;
      if (props[k]) out.push(...check(spec, props[k], x, join2(path, k)));
      else if (s.additionalProperties === false)
        out.push({ param: join2(path, k), code: 'unknown_parameter', message: `Unknown parameter: '${join2(path, k)}'.` });
      else if (typeof s.additionalProperties === 'object') out.push(...check(spec, s.additionalProperties as Schema, x, join2(path, k)));
    }
  }
  return out;
}

/** Property names an object schema defines, through $ref and allOf. */
export function definedProperties(spec: Spec, schema: Schema): Set<string> {
  const s = resolve(schema, spec);
  const names = new Set(Object.keys((s.properties as Record<string, unknown> | undefined) ?? {}));
  for (const sub of (s.allOf as Schema[] | undefined) ?? []) for (const n of definedProperties(spec, sub)) names.add(n);
  return names;
}

/** The request body schema of `POST <path>` for a content type. */
export function requestSchema(spec: Spec, path: string, contentType: string): Schema | undefined {
  return spec.paths[path]?.post.requestBody.content[contentType]?.schema;
}

/** Checks a request body as the API would: the operation's schema, and no argument it does not define. */
export function checkRequest(path: string, contentType: string, body: Record<string, unknown>): SchemaProblem[] {
  const spec = openapi();
  const schema = requestSchema(spec, path, contentType);
  if (!schema) {
    return [{ param: '', code: 'invalid_value', message: `POST ${path} does not take ${contentType} bodies.` }];
  }
  const known = definedProperties(spec, schema);
  const unknown = Object.keys(body)
    .filter((k) => body[k] !== undefined && !known.has(k))
    .map((k): SchemaProblem => ({ param: k, code: 'unknown_parameter', message: `Unrecognized request argument supplied: ${k}` }));
  return [...unknown, ...check(spec, schema, body)];
}

/** The JSON type a multipart text field has in the operation's schema (multipart carries only strings). */
export function multipartFieldType(path: string, field: string): string | undefined {
  const spec = openapi();
  const schema = requestSchema(spec, path, 'multipart/form-data');
  if (!schema) return undefined;
  const s = resolve(schema, spec);
  const p = (s.properties as Record<string, Schema> | undefined)?.[field];
  if (!p) return undefined;
  const r = resolve(p, spec);
  const t =
    r.type ?? (((r.anyOf ?? r.oneOf) as Schema[] | undefined) ?? []).map((a) => resolve(a, spec).type).find((x) => x && x !== 'null');
  return Array.isArray(t) ? (t.find((x) => x !== 'null') as string) : (t as string | undefined);
}
