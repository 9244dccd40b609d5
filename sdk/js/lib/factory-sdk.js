// factory SDK for JavaScript plugins (componentize-qjs or componentize-js).
//
//   import { defineTool, log } from "./factory-sdk.js";
//   export const tool = defineTool({ name, description, inputSchema, handle(args) { ... } });
//
// `handle` gets the parsed JSON input and returns anything JSON-serializable.
// Throw `InvalidInput` for bad arguments; a refused host call throws `Denied`
// (the host has journaled it); anything else thrown becomes `failed`.
// Build against the `tool-with-host` world (or `role-plugin` for roles), with
// componentize-qjs (QuickJS, --sync) or componentize-js (StarlingMonkey).

import * as witLog from "factory:plugin/log@0.1.0";
import * as witKv from "factory:plugin/kv@0.1.0";
import * as witTools from "factory:plugin/tools@0.1.0";
import * as witExec from "factory:plugin/exec@0.1.0";
import * as witModel from "factory:plugin/model@0.1.0";

/** A host call failed; `kind` is the WIT error-code case. */
export class HostError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}
export class Denied extends HostError {
  constructor(message) { super("denied", message); }
}
export class InvalidInput extends HostError {
  constructor(message) { super("invalid-input", message); }
}
export class Failed extends HostError {
  constructor(message) { super("failed", message); }
}

const BY_KIND = { denied: Denied, "invalid-input": InvalidInput };

function hostError(e) {
  if (e instanceof HostError) return e;
  const payload = e && e.payload !== undefined ? e.payload : e;
  if (payload && typeof payload.tag === "string") {
    const Cls = BY_KIND[payload.tag];
    return Cls ? new Cls(String(payload.val)) : new HostError(payload.tag, String(payload.val));
  }
  return new Failed(String(e && e.message ? e.message : e));
}

/** Call a generated import; a WIT error becomes a HostError. */
function host(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    throw hostError(e);
  }
}

/** The WIT error for whatever a handler threw. */
function toWitError(e) {
  if (e instanceof SyntaxError) return { tag: "invalid-input", val: `input is not JSON: ${e.message}` };
  const err = hostError(e);
  const tag = err.kind === "denied" || err.kind === "invalid-input" ? err.kind : "failed";
  const val = tag === err.kind ? err.message : `${err.kind}: ${err.message}`;
  return { tag, val };
}

function wrap(handle, self, input) {
  let parsed;
  try {
    parsed = JSON.parse(input);
  } catch (e) {
    throw toWitError(e);
  }
  try {
    const out = handle.call(self, parsed);
    return typeof out === "string" ? out : JSON.stringify(out);
  } catch (e) {
    throw toWitError(e);
  }
}

/** The `tool` export: { name, description, inputSchema, handle(args) }. */
export function defineTool(spec) {
  const info = {
    name: spec.name,
    description: spec.description || "",
    inputSchema: JSON.stringify(spec.inputSchema || { type: "object" }),
  };
  return {
    describe: () => info,
    invoke: (input) => wrap(spec.handle, spec, input),
  };
}

/** The `role` export: { name, kind, description, handle(step) } (docs/roles.md). */
export function defineRole(spec) {
  const info = { name: spec.name, kind: spec.kind || "custom", description: spec.description || "" };
  return {
    describe: () => info,
    run: (input) => wrap(spec.handle, spec, input),
  };
}

// UTF-8 by hand: QuickJS has no TextEncoder/TextDecoder.
function utf8Encode(str) {
  const out = [];
  for (const ch of String(str)) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

function utf8Decode(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  let s = "";
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    let cp = n === 1 ? c : c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k] & 63);
    s += c >= 0x80 && c < 0xc0 ? "\ufffd" : String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

/** Logging into the journal (always allowed). */
export const log = Object.fromEntries(
  ["trace", "debug", "info", "warn", "error"].map((level) => [level, (msg) => witLog.log(level, String(msg))]),
);

/** The plugin's private key-value store (trust read-only or higher). Values are strings. */
export const kv = {
  get(key) {
    const v = host(witKv.get, key);
    return v === null || v === undefined ? null : utf8Decode(v);
  },
  set(key, value) {
    host(witKv.set, key, utf8Encode(value));
  },
  delete: (key) => host(witKv.delete, key),
  keys: (prefix = "", limit = 1000) => host(witKv.listKeys, prefix, limit),
};

/** Calling other tools (each granted with `--tool NAME`). */
export const tools = {
  available: () => host(witTools.available),
  call: (name, args) => JSON.parse(host(witTools.call, name, typeof args === "string" ? args : JSON.stringify(args))),
};

/** Running a granted program in the host's sandbox. */
export const exec = {
  run(program, args = [], opts = {}) {
    const stdin = opts.stdin === undefined ? null : utf8Encode(opts.stdin);
    const out = host(witExec.run, {
      program,
      args,
      cwd: opts.cwd ?? null,
      env: Object.entries(opts.env || {}),
      stdin,
      timeoutMs: opts.timeoutMs ?? null,
    });
    const text = utf8Decode;
    return { exitCode: out.exitCode, stdout: text(out.stdout), stderr: text(out.stderr), truncated: out.truncated, timedOut: out.timedOut };
  },
};

/** Calling a granted model through the host. Messages: { role, content }. */
export const model = {
  complete(messages, opts = {}) {
    const r = host(witModel.complete, {
      model: opts.model ?? null,
      messages: messages.map((m) => ({
        role: m.role,
        content: m.content || "",
        toolCalls: m.toolCalls || [],
        toolCallId: m.toolCallId ?? null,
      })),
      tools: (opts.tools || []).map((t) => ({ name: t.name, description: t.description || "", inputSchema: JSON.stringify(t.inputSchema || { type: "object" }) })),
      maxTokens: opts.maxTokens ?? null,
      temperature: opts.temperature ?? null,
    });
    return { model: r.model, content: r.message.content, toolCalls: r.message.toolCalls, stopReason: r.stopReason, usage: r.usage };
  },
  ask(prompt, opts = {}) {
    const messages = (opts.system ? [{ role: "system", content: opts.system }] : []).concat([{ role: "user", content: prompt }]);
    return model.complete(messages, opts).content;
  },
};
