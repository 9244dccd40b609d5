// json-validate: check a JSON document against a JSON Schema (the common
// keywords of draft 2020-12). Schemas can be saved under a name in the
// plugin's key-value store (needs trust read-only) and used again by name.
import { defineTool, InvalidInput, kv, log } from "./factory-sdk.js";

const TYPES = {
  null: (v) => v === null,
  boolean: (v) => typeof v === "boolean",
  number: (v) => typeof v === "number",
  integer: (v) => Number.isInteger(v),
  string: (v) => typeof v === "string",
  array: (v) => Array.isArray(v),
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
};

function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resolveRef(root, ref) {
  if (!ref.startsWith("#")) throw new InvalidInput(`only local $ref is supported, got ${ref}`);
  let node = root;
  for (const part of ref.slice(1).split("/").filter(Boolean)) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) throw new InvalidInput(`$ref ${ref} points nowhere`);
    node = node[key];
  }
  return node;
}

function validate(schema, value, path, root, errors, depth = 0) {
  if (depth > 64) throw new InvalidInput("schema nests deeper than 64 levels (a $ref loop?)");
  if (schema === true) return;
  if (schema === false) return void errors.push({ path, message: "no value is allowed here" });
  if (schema === null || typeof schema !== "object") throw new InvalidInput(`schema at ${path || "/"} is not an object`);
  const fail = (message) => errors.push({ path: path || "/", message });
  if (schema.$ref) validate(resolveRef(root, schema.$ref), value, path, root, errors, depth + 1);
  if (schema.type !== undefined) {
    const types = [].concat(schema.type);
    for (const t of types) if (!TYPES[t]) throw new InvalidInput(`unknown type "${t}"`);
    if (!types.some((t) => TYPES[t](value))) fail(`expected ${types.join(" or ")}, got ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`);
  }
  if (schema.enum && !schema.enum.some((e) => equal(e, value))) fail(`must be one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && !equal(schema.const, value)) fail(`must be ${JSON.stringify(schema.const)}`);
  if (typeof value === "string") {
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) fail(`shorter than ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && n > schema.maxLength) fail(`longer than ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) fail(`does not match /${schema.pattern}/`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`less than ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`greater than ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`not greater than ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`not less than ${schema.exclusiveMaximum}`);
    if (schema.multipleOf !== undefined && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) fail(`not a multiple of ${schema.multipleOf}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail("items are not unique");
    const prefix = schema.prefixItems || [];
    value.forEach((item, i) => {
      const s = i < prefix.length ? prefix[i] : schema.items;
      if (s !== undefined) validate(s, item, `${path}/${i}`, root, errors, depth + 1);
    });
  }
  if (TYPES.object(value)) {
    const props = schema.properties || {};
    for (const key of schema.required || []) if (!(key in value)) fail(`missing required property "${key}"`);
    for (const [key, v] of Object.entries(value)) {
      const at = `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (key in props) validate(props[key], v, at, root, errors, depth + 1);
      else if (schema.additionalProperties !== undefined) {
        if (schema.additionalProperties === false) errors.push({ path: at, message: "property is not allowed" });
        else validate(schema.additionalProperties, v, at, root, errors, depth + 1);
      }
    }
    const n = Object.keys(value).length;
    if (schema.minProperties !== undefined && n < schema.minProperties) fail(`fewer than ${schema.minProperties} properties`);
    if (schema.maxProperties !== undefined && n > schema.maxProperties) fail(`more than ${schema.maxProperties} properties`);
  }
  const passes = (s) => {
    const errs = [];
    validate(s, value, path, root, errs, depth + 1);
    return errs.length === 0;
  };
  if (schema.allOf) for (const s of schema.allOf) validate(s, value, path, root, errors, depth + 1);
  if (schema.anyOf && !schema.anyOf.some(passes)) fail("matches none of anyOf");
  if (schema.oneOf) {
    const n = schema.oneOf.filter(passes).length;
    if (n !== 1) fail(`matches ${n} of oneOf (exactly one required)`);
  }
  if (schema.not !== undefined && passes(schema.not)) fail("must not match the `not` schema");
}

export const tool = defineTool({
  name: "json-validate",
  description:
    "Validate a JSON document against a JSON Schema (type, enum, const, properties, required, additionalProperties, items, prefixItems, lengths, ranges, pattern, allOf/anyOf/oneOf/not, local $ref). Schemas can be saved by name (save_as) and reused (schema_name); saving needs trust read-only.",
  inputSchema: {
    type: "object",
    properties: {
      schema: { description: "the JSON Schema" },
      schema_name: { type: "string", description: "a schema saved earlier with save_as" },
      document: { description: "the JSON value to check" },
      save_as: { type: "string", description: "also save the schema under this name" },
    },
    required: ["document"],
    additionalProperties: false,
  },
  handle(args) {
    for (const key of Object.keys(args)) if (!(key in this.inputSchema.properties)) throw new InvalidInput(`unknown field "${key}"`);
    if (!("document" in args)) throw new InvalidInput('missing "document"');
    let schema = args.schema;
    if (schema === undefined) {
      if (typeof args.schema_name !== "string") throw new InvalidInput('give "schema" or "schema_name"');
      const saved = kv.get(`schema/${args.schema_name}`);
      if (saved === null) throw new InvalidInput(`no schema saved as "${args.schema_name}"`);
      schema = JSON.parse(saved);
    }
    const errors = [];
    validate(schema, args.document, "", schema, errors);
    if (typeof args.save_as === "string") {
      kv.set(`schema/${args.save_as}`, JSON.stringify(schema));
      log.info(`saved schema "${args.save_as}"`);
    }
    return { valid: errors.length === 0, errors };
  },
});
