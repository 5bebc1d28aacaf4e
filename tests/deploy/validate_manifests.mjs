// Offline checks of Kubernetes manifests (deploy/kubernetes), run by ctest:
//
//   node validate_manifests.mjs [--bin-dir DIR] PATH...          every document must pass
//   node validate_manifests.mjs [--bin-dir DIR] --expect-broken DIR
//       every file in DIR must fail, with the text of its "# expect: ..." line among the problems
//
// Each document is checked against the Kubernetes OpenAPI schema of its kind (the validators the
// npm package kubernetes-models compiles from it: types, required fields, formats), and, strictly
// as the API server's field validation does, for fields the schema does not know (a typo such as
// `readinessProbes` is otherwise silently dropped). Then the set is checked against llama-orch
// itself: the port of ORCHESTRATORD_ADDR / POOL_MANAGERD_ADDR is the container port that the
// probes, the Service and the NetworkPolicy name, and the one a node registers; a node's
// ORCHESTRATORD_URL is a port of orchestratord's Service; liveness asks /health and readiness /ready;
// selectors match their pod labels; Secrets and ConfigMaps referenced are in the set; and, with
// --bin-dir, every variable given to a daemon is one it reads (from its --help) and the pools.toml
// of a ConfigMap is one that pool-managerd starts with.
import { readFileSync, readdirSync, statSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join, basename } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync, spawn } from "node:child_process";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
let binDir = null;
let brokenDir = null;
const paths = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--bin-dir") binDir = args[++i];
  else if (args[i] === "--expect-broken") brokenDir = args[++i];
  else paths.push(args[i]);
}

// Variables the daemons read besides their options (tokens, the engine path) and helpers that
// only feed $(VAR) references.
const extraVariables = {
  orchestratord: ["LLORCH_API_TOKEN", "LLORCH_SERVICE_TOKEN"],
  "pool-managerd": ["LLORCH_API_TOKEN", "LLORCH_SERVICE_TOKEN", "LLORCH_ENGINE"],
};

const daemonVariables = new Map();
function variablesOf(daemon) {
  if (!binDir) return null;
  if (!daemonVariables.has(daemon)) {
    const help = execFileSync(join(binDir, daemon), ["--help"], { encoding: "utf8" });
    const names = new Set(extraVariables[daemon] ?? []);
    for (const m of help.matchAll(/\(Env:([A-Z0-9_]+)\)/g)) names.add(m[1]);
    if (names.size < 5) throw new Error(`${daemon} --help lists no environment variables`);
    daemonVariables.set(daemon, names);
  }
  return daemonVariables.get(daemon);
}

function yamlFiles(p) {
  if (statSync(p).isDirectory())
    return readdirSync(p).sort().flatMap((f) => yamlFiles(join(p, f)));
  return /\.ya?ml$/.test(p) ? [p] : [];
}

// "apps/v1" -> kubernetes-models/apps/v1/Deployment; the core group "v1" -> kubernetes-models/v1/Service.
function modelPath(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

// Validates `doc` with the compiled schema of its kind while recording which fields the
// validator looked at: a field it never read is one the schema does not have.
async function schemaProblems(doc, where) {
  if (!doc || typeof doc !== "object" || !doc.apiVersion || !doc.kind)
    return [`${where}: not a Kubernetes object (apiVersion and kind are required)`];
  let Model;
  try {
    const mod = await import(modelPath(doc.apiVersion, doc.kind));
    Model = mod[doc.kind];
  } catch {
    Model = undefined;
  }
  if (!Model || typeof Model.prototype.validate !== "function")
    return [`${where}: unknown kind ${doc.apiVersion}/${doc.kind}`];
  const read = new WeakMap();
  const wrap = (v) => {
    if (v === null || typeof v !== "object") return v;
    const seen = new Set();
    const inner = Array.isArray(v)
      ? v.map(wrap)
      : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrap(x)]));
    const proxy = new Proxy(inner, {
      get(t, k, r) {
        if (typeof k === "string") seen.add(k);
        return Reflect.get(t, k, r);
      },
      has(t, k) {
        if (typeof k === "string") seen.add(k);
        return Reflect.has(t, k);
      },
    });
    read.set(v, seen);
    return proxy;
  };
  const problems = [];
  try {
    Model.prototype.validate.call(wrap(doc));
  } catch (e) {
    for (const line of String(e.message).split("\n"))
      if (line.trim()) problems.push(`${where}: ${line.trim()}`);
  }
  const walk = (v, path) => {
    if (v === null || typeof v !== "object") return;
    const seen = read.get(v);
    for (const [k, x] of Object.entries(v)) {
      if (!Array.isArray(v) && !seen.has(k)) {
        problems.push(`${where}: unknown field ${path}/${k}`);
        continue;
      }
      walk(x, `${path}/${k}`);
    }
  };
  walk(doc, "");
  return problems;
}

function podTemplate(doc) {
  return ["Deployment", "DaemonSet", "StatefulSet"].includes(doc.kind) ? doc.spec?.template : null;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function portOfAddr(value) {
  const m = /:(\d+)$/.exec(value ?? "");
  return m ? Number(m[1]) : null;
}

// What llama-orch expects of its own workloads and of the objects around them.
function crossProblems(docs) {
  const problems = [];
  const secrets = docs.filter(({ doc }) => doc.kind === "Secret");
  const configMaps = docs.filter(({ doc }) => doc.kind === "ConfigMap");
  const workloads = docs.filter(({ doc }) => podTemplate(doc));
  for (const { doc, where } of workloads) {
    const tpl = podTemplate(doc);
    if (!matches(doc.spec.selector?.matchLabels, tpl.metadata?.labels))
      problems.push(`${where}: selector ${JSON.stringify(doc.spec.selector?.matchLabels)} does not match the pod labels`);
    for (const v of tpl.spec.volumes ?? []) {
      if (v.configMap && !configMaps.some(({ doc: c }) => c.metadata.name === v.configMap.name))
        problems.push(`${where}: volume ${v.name} names ConfigMap ${v.configMap.name}, which is not in the set`);
    }
    for (const c of tpl.spec.containers) {
      const daemon = basename(c.command?.[0] ?? "");
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) {
          const s = secrets.find(({ doc: d }) => d.metadata.name === ref.name);
          const keys = s ? Object.keys({ ...s.doc.data, ...s.doc.stringData }) : [];
          if (!s || !keys.includes(ref.key))
            problems.push(`${where}: ${e.name} takes key ${ref.key} of Secret ${ref.name}, which is not in the set`);
        }
      }
      const addrVar = { orchestratord: "ORCHESTRATORD_ADDR", "pool-managerd": "POOL_MANAGERD_ADDR" }[daemon];
      if (!addrVar) {
        problems.push(`${where}: container ${c.name} runs ${c.command?.[0] ?? "(no command)"}, not a llama-orch daemon`);
        continue;
      }
      const known = variablesOf(daemon);
      if (known) {
        const referenced = new Set();
        for (const e of c.env ?? [])
          for (const m of String(e.value ?? "").matchAll(/\$\(([A-Z0-9_]+)\)/g)) referenced.add(m[1]);
        for (const name of Object.keys(env))
          if (!known.has(name) && !referenced.has(name))
            problems.push(`${where}: ${daemon} reads no variable ${name} (not in its --help)`);
      }
      const port = portOfAddr(env[addrVar]?.value);
      if (!port) {
        problems.push(`${where}: ${daemon} needs ${addrVar} with a port (its default binds loopback)`);
        continue;
      }
      if (daemon === "pool-managerd") {
        // The URL the node registers must reach the port it binds, and the control plane's URL
        // must be a Service of the set on one of its ports.
        const own = /^https?:\/\/[^/]+:(\d+)$/.exec(env.POOL_MANAGERD_ADDRESS?.value ?? "");
        if (!own || Number(own[1]) !== port)
          problems.push(`${where}: POOL_MANAGERD_ADDRESS ${env.POOL_MANAGERD_ADDRESS?.value ?? "(unset)"} must end in the port of ${addrVar} (${port})`);
        const url = /^https?:\/\/([^.:/]+)[^:/]*:(\d+)$/.exec(env.ORCHESTRATORD_URL?.value ?? "");
        const svc = url && docs.find(({ doc: d }) => d.kind === "Service" && d.metadata.name === url[1]);
        if (!svc || !svc.doc.spec.ports.some((p) => p.port === Number(url[2])))
          problems.push(`${where}: ORCHESTRATORD_URL ${env.ORCHESTRATORD_URL?.value ?? "(unset)"} is no port of a Service in the set`);
      }
      const ports = c.ports ?? [];
      const resolve = (p) => (typeof p === "number" ? p : ports.find((x) => x.name === p)?.containerPort);
      if (!ports.some((p) => p.containerPort === port))
        problems.push(`${where}: ${addrVar} binds port ${port} but the container declares ${ports.map((p) => p.containerPort).join(", ") || "no port"}`);
      const live = c.livenessProbe?.httpGet;
      if (!live || live.path !== "/health" || resolve(live.port) !== port)
        problems.push(`${where}: livenessProbe must ask GET /health on port ${port} (${addrVar})`);
      const ready = c.readinessProbe;
      const readyText = ready?.httpGet
        ? `${ready.httpGet.path}@${resolve(ready.httpGet.port)}`
        : (ready?.exec?.command ?? []).join(" ");
      const readyOk = ready?.httpGet
        ? ready.httpGet.path === "/ready" && resolve(ready.httpGet.port) === port
        : readyText.includes(`127.0.0.1:${port}/ready`);
      if (!readyOk)
        problems.push(`${where}: readinessProbe must ask /ready on port ${port} (${addrVar}), not ${readyText || "nothing"}`);
      const config = c.command?.indexOf("--config") ?? -1;
      if (config >= 0) {
        const file = c.command[config + 1];
        const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(m.mountPath + "/"));
        const vol = mount && tpl.spec.volumes?.find((v) => v.name === mount.name);
        const cm = vol?.configMap && configMaps.find(({ doc: d }) => d.metadata.name === vol.configMap.name);
        if (!cm || !(file.slice(mount.mountPath.length + 1) in (cm.doc.data ?? {})))
          problems.push(`${where}: --config ${file} is not a key of a ConfigMap mounted there`);
      }
    }
  }
  for (const { doc, where } of docs.filter(({ doc: d }) => d.kind === "Service")) {
    const target = workloads.find(({ doc: w }) => matches(doc.spec.selector, podTemplate(w).metadata?.labels));
    if (!target) {
      problems.push(`${where}: the selector of Service ${doc.metadata.name} matches no workload in the set`);
      continue;
    }
    const ports = podTemplate(target.doc).spec.containers.flatMap((c) => c.ports ?? []);
    for (const p of doc.spec.ports) {
      const t = p.targetPort ?? p.port;
      if (!ports.some((x) => x.containerPort === t || x.name === t))
        problems.push(`${where}: Service port ${p.port} targets ${t}, which no container of ${target.doc.metadata.name} declares`);
    }
  }
  for (const { doc, where } of docs.filter(({ doc: d }) => d.kind === "NetworkPolicy")) {
    const target = workloads.find(({ doc: w }) => matches(doc.spec.podSelector?.matchLabels, podTemplate(w).metadata?.labels));
    if (!target) {
      problems.push(`${where}: NetworkPolicy ${doc.metadata.name} selects no workload in the set`);
      continue;
    }
    const ports = podTemplate(target.doc).spec.containers.flatMap((c) => c.ports ?? []);
    for (const rule of doc.spec.ingress ?? [])
      for (const p of rule.ports ?? [])
        if (!ports.some((x) => x.containerPort === p.port || x.name === p.port))
          problems.push(`${where}: NetworkPolicy ${doc.metadata.name} opens port ${p.port}, which ${target.doc.metadata.name} does not serve`);
  }
  return problems;
}

// Starts pool-managerd on loopback with `toml` as its --config: its first line says whether the
// file is accepted ("listening on") or what is wrong with it (a missing model file is not a
// start-up error: that pool fails and retries while the daemon serves).
function poolsFileProblem(toml) {
  const dir = mkdtempSync(join(tmpdir(), "llorch-pools-"));
  const file = join(dir, "pools.toml");
  writeFileSync(file, toml);
  const env = { ...process.env, LLORCH_API_TOKEN: "", LLORCH_SERVICE_TOKEN: "" };
  const p = spawn(join(binDir, "pool-managerd"),
    ["--config", file, "--addr", "127.0.0.1:0", "--runtime-dir", join(dir, "run")], { env });
  return new Promise((resolve) => {
    let out = "";
    const done = (problem) => {
      clearTimeout(timer);
      p.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      resolve(problem);
    };
    const timer = setTimeout(() => done(`pool-managerd neither started nor refused in 30 s: ${out}`), 30000);
    const seen = (chunk) => {
      out += chunk;
      if (out.includes("pool-managerd listening on")) done(null);
    };
    p.stdout.on("data", seen);
    p.stderr.on("data", seen);
    p.on("exit", () => done(`pool-managerd refuses it: ${out.trim()}`));
  });
}

async function check(files) {
  const docs = [];
  const problems = [];
  for (const file of files) {
    const parsed = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true });
    parsed.forEach((d, i) => {
      const where = `${file}#${i + 1}`;
      for (const e of d.errors) problems.push(`${where}: YAML: ${e.message}`);
      const doc = d.toJS();
      if (doc !== null && doc !== undefined) docs.push({ doc, where });
    });
  }
  for (const { doc, where } of docs) problems.push(...(await schemaProblems(doc, where)));
  if (problems.length === 0) problems.push(...crossProblems(docs));
  if (binDir)
    for (const { doc, where } of docs)
      if (doc.kind === "ConfigMap" && typeof doc.data?.["pools.toml"] === "string") {
        const problem = await poolsFileProblem(doc.data["pools.toml"]);
        if (problem) problems.push(`${where}: pools.toml: ${problem}`);
      }
  return { docs, problems };
}

let failed = false;
if (brokenDir) {
  const files = yamlFiles(brokenDir);
  if (files.length === 0) {
    console.error(`no manifests in ${brokenDir}`);
    process.exit(1);
  }
  for (const file of files) {
    const expect = /^# expect: (.+)$/m.exec(readFileSync(file, "utf8"))?.[1];
    const { problems } = await check([file]);
    if (!expect) {
      console.error(`FAIL ${file}: no "# expect: ..." line`);
      failed = true;
    } else if (!problems.some((p) => p.includes(expect))) {
      console.error(`FAIL ${file}: expected a problem with "${expect}", got:\n  ${problems.join("\n  ") || "(none: accepted)"}`);
      failed = true;
    } else {
      console.log(`ok   ${file}: rejected (${problems.find((p) => p.includes(expect))})`);
    }
  }
} else {
  const files = paths.flatMap(yamlFiles);
  if (files.length === 0) {
    console.error("no manifests given");
    process.exit(1);
  }
  const { docs, problems } = await check(files);
  for (const p of problems) console.error(`FAIL ${p}`);
  failed = problems.length > 0;
  if (!failed)
    console.log(`ok   ${docs.length} objects in ${files.length} files: schema, fields, ports, probes, references${binDir ? ", variables, pools file" : ""}`);
}
process.exit(failed ? 1 : 0);
