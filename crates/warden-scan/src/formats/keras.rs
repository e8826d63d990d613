//! Keras model configurations: the JSON that Keras turns back into layers, found as `config.json`
//! in `.keras` zips (Keras 3), as `model.to_json()` output, and as the `model_config` attribute of
//! HDF5 `.h5` files (Keras 2, read by [`crate::formats::hdf5`]).
//!
//! Loading a config runs code in two ways: `Lambda` layers carry marshalled Python bytecode that
//! Keras unmarshals and calls, and every object names a Python module that Keras imports to find
//! its class (or function). We walk every object of the config (nested models, wrapped layers,
//! losses, optimizers), read lambda code without unmarshalling it ([`keras_lambda`]), and judge
//! module names. Any other JSON (tokenizers, Hugging Face configs) passes silently.
//!
//! [`keras_lambda`]: crate::formats::keras_lambda

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;
use warden_core::Severity;

use crate::context::{LIMIT_EXCEEDED, ScanContext};
use crate::formats::keras_lambda;
use crate::rules::{ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

/// A `Lambda` layer (or lambda function) carrying Python bytecode.
pub(crate) static LAMBDA_LAYER: Rule = Rule {
    id: "keras.lambda-layer",
    severity: Severity::High,
    title: "Keras Lambda layer with embedded Python code",
    description: "A Lambda layer stores marshalled Python bytecode that Keras deserialises and runs \
                  when the model is loaded or called (safe_mode only blocks it in Keras 3 .keras \
                  files, and older Keras has no safe mode). It is arbitrary code execution by design; \
                  critical when the code names OS, process, import or eval functions.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_SUPPLY_CHAIN_MODEL],
    remediation: "Do not load the model unless you trust its author; rebuild the layer in code instead of loading it.",
};

/// An object whose class or function comes from outside Keras and TensorFlow.
pub(crate) static CUSTOM_OBJECT: Rule = Rule {
    id: "keras.custom-object",
    severity: Severity::Medium,
    title: "Keras config imports a non-Keras module",
    description: "An object in the config names a Python module outside Keras/TensorFlow (or a \
                  custom registered class). Keras imports that module while loading, which runs its \
                  code; when the module is `os`, `subprocess`, `builtins` and the like, the config \
                  calls arbitrary functions (CVE-2025-1550).",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_SUPPLY_CHAIN_MODEL],
    remediation: "Make sure the named package is one you installed and trust; never load configs naming system modules.",
};

/// A `TFOpLambda` layer that calls a TensorFlow op with side effects.
pub(crate) static DANGEROUS_TF_OP: Rule = Rule {
    id: "keras.dangerous-tf-op",
    severity: Severity::High,
    title: "Keras layer calls a TensorFlow op with side effects",
    description: "A TFOpLambda layer calls a TensorFlow function that reads or writes files or runs \
                  Python (`tf.io.write_file`, `tf.py_function`...), which runs when the model is \
                  called.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not run the model; inspect what the op does and rebuild the model without it.",
};

/// A Keras config that cannot be parsed.
pub(crate) static MALFORMED: Rule = Rule {
    id: "keras.malformed",
    severity: Severity::Medium,
    title: "malformed Keras config",
    description: "A Keras model config is not valid JSON or is too deeply nested to inspect, so its \
                  layers could not be checked.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the model until its config can be inspected.",
};

/// What the config describes, for the record.
pub(crate) static MODEL_CONFIG: Rule = Rule {
    id: "keras.model-config",
    severity: Severity::Info,
    title: "Keras model config",
    description: "The model class and how many layers its config describes.",
    atlas: &[],
    remediation: "None needed.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&LAMBDA_LAYER, &CUSTOM_OBJECT, &DANGEROUS_TF_OP, &MALFORMED, &MODEL_CONFIG];

/// Modules whose import or functions amount to running arbitrary code.
const DANGEROUS_MODULES: &[&str] = &[
    "os", "posix", "nt", "subprocess", "builtins", "__builtin__", "sys", "runpy", "importlib", "pickle", "_pickle", "cPickle", "dill",
    "marshal", "shutil", "socket", "ctypes", "pty", "code", "codeop", "commands", "webbrowser", "multiprocessing", "urllib", "urllib2",
    "http", "requests", "pathlib", "io", "platform", "signal", "threading", "asyncio", "tempfile", "glob", "operator", "functools",
];

/// TensorFlow functions (as TFOpLambda names them, without `tf.`) with side effects.
const DANGEROUS_TF_OPS: &[&str] = &[
    "io.write_file", "io.read_file", "io.gfile", "io.matching_files", "py_function", "numpy_function", "compat.v1.py_func", "py_func",
    "raw_ops.WriteFile", "raw_ops.ReadFile", "raw_ops.PyFunc", "raw_ops.EagerPyFunc", "raw_ops.MatchingFiles", "summary.create_file_writer",
    "compat.v1.io.write_file", "compat.v1.read_file", "compat.v1.write_file", "debugging.experimental.enable_dump_debug_info",
];

/// Keras functions that fetch or load other files when a config names them.
const DANGEROUS_KERAS_FUNCTIONS: &[&str] = &["get_file", "load_model", "load_weights", "deserialize_keras_object", "set_random_seed"];

/// Scans JSON text sniffed from a file or archive member: silent unless it is a Keras config.
pub(crate) fn scan_json(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let looks_like_keras = looks_like_keras(&data[..data.len().min(1 << 16)]);
    let limit = ctx.limits().max_header_bytes;
    if data.len() as u64 > limit {
        if looks_like_keras {
            ctx.report(&LIMIT_EXCEEDED, Some(0), format!("Keras config of {} bytes exceeds the limit of {limit} bytes; not inspected", data.len()));
        }
        return;
    }
    match std::str::from_utf8(data) {
        Ok(text) => {
            scan_text(ctx, text, 0, looks_like_keras, false);
        }
        Err(e) if looks_like_keras => {
            ctx.report(&MALFORMED, Some(e.valid_up_to() as u64), "Keras config is not valid UTF-8");
        }
        Err(_) => {}
    }
}

/// Scans text known to be a Keras config (an HDF5 `model_config` or `training_config`
/// attribute) found at `offset`. Returns whether it parsed as JSON.
pub(crate) fn scan_config_text(ctx: &mut ScanContext<'_>, text: &str, offset: u64) -> bool {
    scan_text(ctx, text, offset, true, true)
}

/// `known` says the text is Keras config whatever its shape; otherwise only objects with
/// `class_name` and `config` at the top are treated as Keras.
fn scan_text(ctx: &mut ScanContext<'_>, text: &str, offset: u64, looks_like_keras: bool, known: bool) -> bool {
    let value: Value = match serde_json::from_str(&python_json(text)) {
        Ok(value) => value,
        Err(e) => {
            if looks_like_keras || known {
                let (severity, why) = if e.to_string().contains("recursion limit") {
                    (Severity::High, "is nested too deeply to inspect (Python would still load it)")
                } else {
                    (MALFORMED.severity, "is not valid JSON")
                };
                let message = format!("Keras config {why}: {e}");
                ctx.report_with_severity(&MALFORMED, severity, Some(offset), message);
                report_lambda_text(ctx, text, offset);
            }
            return false;
        }
    };
    if !known && !is_keras_object(&value) {
        return true;
    }
    let mut walker = Walker { ctx, text, base: offset, layers: 0, seen: HashSet::new() };
    walker.walk(&value, "", 0);
    let layers = walker.layers;
    if let Some(class) = value.get("class_name").and_then(Value::as_str) {
        ctx.report(&MODEL_CONFIG, Some(offset), format!("Keras `{}` config with {layers} layers", truncate(class, 60)));
    }
    true
}

/// A Keras-serialised object: `{"class_name": ..., "config": ...}`.
fn is_keras_object(value: &Value) -> bool {
    value.get("class_name").is_some_and(Value::is_string) && value.get("config").is_some()
}

fn looks_like_keras(prefix: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(prefix, needle).is_some();
    has(b"\"class_name\"") && has(b"\"config\"")
}

/// When a config cannot be parsed, still say whether it spells a Lambda layer.
fn report_lambda_text(ctx: &mut ScanContext<'_>, text: &str, offset: u64) {
    static LAMBDA: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""class_name"\s*:\s*"(Lambda|__lambda__|TFOpLambda)"|"function_type"\s*:\s*"lambda""#).expect("valid regex")
    });
    if let Some(m) = LAMBDA.find(text) {
        let finding = ctx.report(&LAMBDA_LAYER, Some(offset + m.start() as u64), "unparseable Keras config contains a Lambda layer");
        finding.evidence = Some(truncate(m.as_str(), 120));
    }
}

/// Python's `json` accepts `NaN`, `Infinity` and `-Infinity` (and `json.dumps` writes them);
/// serde_json does not. Replace them outside strings so such configs are still inspected.
fn python_json(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"].into_iter().find(|t| rest.starts_with(t));
        if let Some(token) = token {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        in_string = c == '"';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Walks a parsed config, reporting as it goes.
struct Walker<'c, 's, 't> {
    ctx: &'c mut ScanContext<'s>,
    text: &'t str,
    base: u64,
    layers: usize,
    /// (rule, detail) pairs already reported, so a module used by 500 layers is one finding.
    seen: HashSet<(&'static str, String)>,
}

impl Walker<'_, '_, '_> {
    /// serde_json bounds nesting at 128 levels, which bounds this recursion too.
    fn walk(&mut self, value: &Value, parent_key: &str, depth: usize) {
        match value {
            Value::Array(items) => {
                for item in items {
                    if parent_key == "layers" && is_keras_object(item) {
                        self.layers += 1;
                    }
                    self.walk(item, parent_key, depth + 1);
                }
            }
            Value::Object(map) => {
                let skip_function = is_keras_object(value) && self.check_object(value);
                for (key, child) in map {
                    if skip_function && key == "config" {
                        self.walk_lambda_config(child, depth + 1);
                    } else {
                        self.walk(child, key, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// A Lambda layer's config minus its `function` (already reported).
    fn walk_lambda_config(&mut self, config: &Value, depth: usize) {
        if let Value::Object(map) = config {
            for (key, child) in map.iter().filter(|(k, _)| k.as_str() != "function") {
                self.walk(child, key, depth + 1);
            }
        }
    }

    /// Judges one `{"class_name", "config", ...}` object; returns true when it was a Lambda whose
    /// function has been reported.
    fn check_object(&mut self, object: &Value) -> bool {
        let class = object.get("class_name").and_then(Value::as_str).unwrap_or_default();
        let config = object.get("config");
        let name = config.and_then(|c| c.get("name")).and_then(Value::as_str).map_or_else(String::new, |n| format!(" `{}`", truncate(n, 60)));
        self.check_module(object, class, &name);
        match class {
            "Lambda" => {
                self.check_lambda_layer(config, &name);
                true
            }
            "__lambda__" => {
                self.report_code(lambda_code(config), "lambda function");
                false
            }
            "TFOpLambda" => {
                let function = config.and_then(|c| c.get("function")).and_then(Value::as_str).unwrap_or_default();
                let op = function.trim_start_matches("tf.");
                if DANGEROUS_TF_OPS.iter().any(|d| op == *d || op.starts_with(&format!("{d}."))) {
                    let message = format!("TFOpLambda layer{name} calls `tf.{}`", truncate(op, 80));
                    let at = self.locate(function);
                    self.ctx.report(&DANGEROUS_TF_OP, at, message);
                }
                false
            }
            _ => false,
        }
    }

    fn check_lambda_layer(&mut self, config: Option<&Value>, name: &str) {
        // Keras 2 can also store `output_shape` as a lambda.
        if config.and_then(|c| c.get("output_shape_type")).and_then(Value::as_str) == Some("lambda") {
            let code = config.and_then(|c| c.get("output_shape")).and_then(|s| s.get(0)).and_then(Value::as_str).unwrap_or_default();
            self.report_code(code, &format!("Lambda layer{name} output_shape"));
        }
        let function = config.and_then(|c| c.get("function"));
        let function_type = config.and_then(|c| c.get("function_type")).and_then(Value::as_str);
        match function {
            // Keras 3: {"class_name": "__lambda__", "config": {"code": base64}}.
            Some(f @ Value::Object(_)) if f.get("class_name").and_then(Value::as_str) == Some("__lambda__") => {
                self.report_code(lambda_code(f.get("config")), &format!("Lambda layer{name}"));
            }
            // Keras 2: [base64 marshal, defaults, closure] with "function_type": "lambda".
            Some(Value::Array(parts)) => {
                let code = parts.first().and_then(Value::as_str).unwrap_or_default();
                self.report_code(code, &format!("Lambda layer{name}"));
            }
            // A named function: Keras 2 looks it up in `module`, Keras 3 serialises it as an object.
            Some(Value::String(function)) if function_type != Some("lambda") => {
                let module = config.and_then(|c| c.get("module")).and_then(Value::as_str).unwrap_or("?");
                let dangerous = is_dangerous_module(module);
                let severity = if dangerous { Severity::Critical } else { LAMBDA_LAYER.severity };
                let message = format!("Lambda layer{name} calls function `{}` from module `{}`", truncate(function, 60), truncate(module, 60));
                let at = self.locate(function);
                self.ctx.report_with_severity(&LAMBDA_LAYER, severity, at, message);
            }
            Some(Value::String(code)) => self.report_code(code, &format!("Lambda layer{name}")),
            Some(other) => {
                self.walk(other, "function", 0);
                let message = format!("Lambda layer{name} wraps a serialised function");
                self.ctx.report(&LAMBDA_LAYER, None, message);
            }
            None => {
                self.ctx.report(&LAMBDA_LAYER, None, format!("Lambda layer{name} without a readable function"));
            }
        }
    }

    fn report_code(&mut self, code: &str, what: &str) {
        let names = keras_lambda::inspect(code);
        let at = self.locate(&code[..code.len().min(64)]);
        let (severity, message) = if names.dangerous.is_empty() {
            (LAMBDA_LAYER.severity, format!("{what} carries {} bytes of base64 Python bytecode", code.len()))
        } else {
            (Severity::Critical, format!("{what} carries Python bytecode that uses {}", names.dangerous.join(", ")))
        };
        let finding = self.ctx.report_with_severity(&LAMBDA_LAYER, severity, at, message);
        finding.evidence = Some(if names.decoded { names.evidence() } else { "code is not valid base64".to_owned() });
    }

    /// `module` and `registered_name` name what Keras imports.
    fn check_module(&mut self, object: &Value, class: &str, name: &str) {
        let module = object.get("module").and_then(Value::as_str);
        let registered = object.get("registered_name").and_then(Value::as_str);
        let function = object.get("config").and_then(Value::as_str).filter(|_| class == "function");
        if let Some(module) = module {
            let what = match function {
                Some(f) => format!("function `{}.{}`", truncate(module, 80), truncate(f, 60)),
                None => format!("class `{}` from module `{}`", truncate(class, 60), truncate(module, 80)),
            };
            if is_dangerous_module(module) {
                self.report_custom(Severity::Critical, module, format!("object{name} loads {what}, a module that runs arbitrary code"));
            } else if !is_keras_module(module) {
                self.report_custom(CUSTOM_OBJECT.severity, module, format!("object{name} imports {what} at load time"));
            } else if let Some(f) = function.filter(|f| DANGEROUS_KERAS_FUNCTIONS.contains(f)) {
                self.report_custom(Severity::High, f, format!("object{name} calls {what}, which reads or fetches other files"));
            }
        }
        if let Some((package, _)) = registered.and_then(|r| r.split_once('>'))
            && !is_keras_module(package)
            && module.is_none_or(is_keras_module)
        {
            let message = format!("object{name} is the custom registered class `{}`", truncate(registered.unwrap_or_default(), 80));
            self.report_custom(CUSTOM_OBJECT.severity, registered.unwrap_or_default(), message);
        }
    }

    fn report_custom(&mut self, severity: Severity, detail: &str, message: String) {
        if self.seen.insert((CUSTOM_OBJECT.id, detail.to_owned())) {
            let at = self.locate(detail);
            self.ctx.report_with_severity(&CUSTOM_OBJECT, severity, at, message);
        }
    }

    /// Where `needle` first appears as a JSON string in the text (a pointer for humans).
    fn locate(&self, needle: &str) -> Option<u64> {
        let quoted = format!("\"{needle}");
        memchr::memmem::find(self.text.as_bytes(), quoted.as_bytes()).map(|i| self.base + i as u64)
    }
}

/// The base64 code of a `__lambda__` object: `{"code": ...}` in Lambda layers, `{"value": [code,
/// defaults, closure]}` where Keras 3 serialises any other lambda (a loss, an activation).
fn lambda_code(config: Option<&Value>) -> &str {
    let code = config.and_then(|c| c.get("code").or_else(|| c.get("value").and_then(|v| v.get(0))));
    code.and_then(Value::as_str).unwrap_or_default()
}

fn module_root(module: &str) -> &str {
    module.split(['.', '>']).next().unwrap_or(module)
}

fn is_dangerous_module(module: &str) -> bool {
    DANGEROUS_MODULES.contains(&module_root(module))
}

fn is_keras_module(module: &str) -> bool {
    let root = module_root(module);
    root == "keras" || root.starts_with("keras_") || root == "tensorflow" || root == "tf_keras"
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[path = "keras_tests.rs"]
mod tests;
