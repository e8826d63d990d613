//! Tests of the Keras config checker: benign v2/v3 configs, Lambda layers, custom and system modules.

use proptest::prelude::*;
use warden_core::Finding;

use super::*;
use crate::settings::ScanSettings;

fn scan(text: &str) -> Vec<Finding> {
    let settings = ScanSettings::default();
    let mut ctx = ScanContext::new(&settings, "config.json");
    scan_json(&mut ctx, text.as_bytes());
    ctx.finish().0
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().filter(|f| f.severity > Severity::Info).map(|f| f.rule_id.as_str()).collect()
}

fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// `base64.b64encode(marshal.dumps((lambda x: __import__('os').system('id') or x).__code__))`,
/// CPython 3.11.7.
const EVIL_CODE: &str = "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLaCl9faW1wb3J0X1/aBnN5c3RlbakB2gF4cwEAAAAg+gg8c3RyaW5nPvoIPGxhbWJkYT5yCQAAAAQAAABzIgAAAIAAtQq4NNEwQNQwQNcwR9IwR8gE0TBN1DBN0DBS0FFSgADzAAAAAA==";

/// `base64.b64encode(marshal.dumps((lambda x: x * 2).__code__))`, CPython 3.11.7.
const HARMLESS_CODE: &str =
    "4wEAAAAAAAAAAAAAAAIAAAADAAAA8wwAAACXAHwAZAF6BQAAUwApAk7pAgAAAKkAqQHaAXhzAQAAACD6CDxzdHJpbmc++gg8bGFtYmRhPnIHAAAABQAAAHMKAAAAgACwAbBBsQWAAPMAAAAA";

/// The shape of a Keras 3 `config.json` for a small Sequential model (Dense + Dropout).
const KERAS3_SEQUENTIAL: &str = r#"{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null}, {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null}, "registered_name": null, "build_config": {"input_shape": [null, 4]}}, {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout", "rate": 0.1, "seed": null, "noise_shape": null}, "registered_name": null}], "build_input_shape": [null, 4]}, "registered_name": null, "build_config": {"input_shape": [null, 4]}, "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.001, "clipnorm": null}, "registered_name": null}, "loss": "mse", "metrics": null}}"#;

/// The shape of Keras 2 `model.to_json()` / HDF5 `model_config`, with a bidirectional LSTM.
const KERAS2_MODEL: &str = r#"{"class_name": "Sequential", "config": {"name": "sequential", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 10, 8], "dtype": "float32", "name": "input_1"}}, {"class_name": "Bidirectional", "config": {"name": "bidirectional", "layer": {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "activation": "tanh", "recurrent_dropout": 0.0}}, "merge_mode": "concat"}}, {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid", "kernel_constraint": null, "bias_initializer": {"class_name": "Zeros", "config": {}}}}]}, "keras_version": "2.11.0", "backend": "tensorflow"}"#;

fn keras3_lambda(function: &str) -> String {
    format!(
        r#"{{"module": "keras", "class_name": "Functional", "config": {{"name": "m", "layers": [{{"module": "keras.layers", "class_name": "Lambda", "config": {{"name": "double", "function": {function}, "arguments": {{}}}}, "registered_name": null}}]}}, "registered_name": "Functional"}}"#
    )
}

#[test]
fn benign_keras_configs_are_clean() {
    for config in [KERAS3_SEQUENTIAL, KERAS2_MODEL] {
        let findings = scan(config);
        assert!(ids(&findings).is_empty(), "{findings:?}");
        assert!(findings.iter().any(|f| f.rule_id.as_str() == "keras.model-config"), "{findings:?}");
    }
    let findings = scan(KERAS2_MODEL);
    assert!(findings[0].message.contains("3 layers"), "{}", findings[0].message);
}

#[test]
fn other_json_is_silent() {
    for json in [
        r#"{"keras_version": "3.3.3", "date_saved": "2024-05-01@12:00:00"}"#,
        r#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096}"#,
        r#"{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": []}"#,
        r#"{"class_name": "oops" "#,
        "{\"a\": [1, 2, {\"b\": null}]}",
    ] {
        assert!(scan(json).is_empty(), "{json}: {:?}", scan(json));
    }
}

#[test]
fn keras3_lambda_with_os_system_is_critical_with_names_as_evidence() {
    let config = keras3_lambda(&format!(
        r#"{{"class_name": "__lambda__", "config": {{"code": "{EVIL_CODE}", "defaults": null, "closure": null}}}}"#
    ));
    let findings = scan(&config);
    let lambda = findings.iter().find(|f| f.rule_id.as_str() == "keras.lambda-layer").expect("lambda finding");
    assert_eq!(lambda.severity, Severity::Critical);
    assert!(lambda.message.contains("`double`") && lambda.message.contains("system"), "{}", lambda.message);
    assert!(lambda.evidence.as_deref().unwrap().contains("__import__"));
    let at = config.find(&EVIL_CODE[..20]).unwrap() as u64 - 1;
    assert_eq!(lambda.location.offset, Some(at));
    assert_eq!(findings.iter().filter(|f| f.rule_id.as_str() == "keras.lambda-layer").count(), 1, "{findings:?}");
}

#[test]
fn harmless_lambda_is_still_high() {
    let config = keras3_lambda(&format!(r#"{{"class_name": "__lambda__", "config": {{"code": "{HARMLESS_CODE}"}}}}"#));
    let findings = scan(&config);
    assert_eq!(ids(&findings), ["keras.lambda-layer"]);
    assert_eq!(worst(&findings), Some(Severity::High));
}

#[test]
fn lambda_serialised_as_a_value_is_found() {
    let config = format!(
        r#"{{"class_name": "Sequential", "config": {{"layers": []}}, "compile_config": {{"loss": {{"class_name": "__lambda__", "config": {{"value": ["{EVIL_CODE}", null, null]}}}}}}}}"#
    );
    assert_eq!(worst(&scan(&config)), Some(Severity::Critical));
}

#[test]
fn keras2_lambda_in_nested_wrapper_is_found() {
    let config = format!(
        r#"{{"class_name": "Model", "config": {{"layers": [{{"class_name": "TimeDistributed", "config": {{"layer": {{"class_name": "Lambda", "config": {{"name": "l", "function": ["{EVIL_CODE}", null, null], "function_type": "lambda", "module": "__main__", "output_shape": null, "output_shape_type": "raw"}}}}}}}}]}}}}"#
    );
    let findings = scan(&config);
    assert_eq!(ids(&findings), ["keras.lambda-layer"]);
    assert_eq!(worst(&findings), Some(Severity::Critical));
}

#[test]
fn named_function_from_dangerous_module_is_critical() {
    let keras2 = r#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": "system", "function_type": "function", "module": "os"}}]}}"#;
    assert_eq!(worst(&scan(keras2)), Some(Severity::Critical));
    let keras3 = keras3_lambda(r#"{"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"}"#);
    let findings = scan(&keras3);
    assert!(findings.iter().any(|f| f.rule_id.as_str() == "keras.custom-object" && f.severity == Severity::Critical), "{findings:?}");
}

#[test]
fn custom_modules_are_medium_and_system_modules_critical() {
    let custom = r#"{"module": "my_layers", "class_name": "Gate", "config": {"layers": []}, "registered_name": "MyLayers>Gate"}"#;
    let findings = scan(custom);
    assert_eq!(ids(&findings), ["keras.custom-object"]);
    assert_eq!(worst(&findings), Some(Severity::Medium));
    let registered = r#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Gate", "config": {}, "registered_name": "Custom>Gate"}]}}"#;
    assert_eq!(ids(&scan(registered)), ["keras.custom-object"]);
    let evil = r#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "subprocess", "class_name": "Popen", "config": {"args": "id"}}]}}"#;
    assert_eq!(worst(&scan(evil)), Some(Severity::Critical));
    let fetch = r#"{"module": "keras", "class_name": "Functional", "config": {"layers": [{"module": "keras.utils", "class_name": "function", "config": "get_file"}]}}"#;
    assert_eq!(worst(&scan(fetch)), Some(Severity::High));
    let keras_hub = r#"{"module": "keras_hub.src.models", "class_name": "Backbone", "config": {"layers": []}, "registered_name": "keras_hub>Backbone"}"#;
    assert!(ids(&scan(keras_hub)).is_empty());
}

#[test]
fn one_finding_per_custom_module() {
    let layer = r#"{"module": "my_layers", "class_name": "Gate", "config": {}}"#;
    let config = format!(r#"{{"class_name": "Sequential", "config": {{"layers": [{}]}}}}"#, [layer; 20].join(","));
    assert_eq!(ids(&scan(&config)), ["keras.custom-object"]);
}

#[test]
fn tf_op_lambda_with_file_io_is_high() {
    let config = r#"{"class_name": "Functional", "config": {"layers": [{"class_name": "TFOpLambda", "config": {"name": "tf.io.write_file", "function": "io.write_file"}}, {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}}]}}"#;
    let findings = scan(config);
    assert_eq!(ids(&findings), ["keras.dangerous-tf-op"]);
    assert_eq!(worst(&findings), Some(Severity::High));
}

#[test]
fn python_nan_and_infinity_do_not_hide_layers() {
    let config = keras3_lambda(&format!(r#"{{"class_name": "__lambda__", "config": {{"code": "{HARMLESS_CODE}", "clip": NaN, "max": -Infinity, "s": "NaN"}}}}"#));
    assert_eq!(ids(&scan(&config)), ["keras.lambda-layer"]);
}

#[test]
fn unparseable_keras_configs_are_reported() {
    let broken = r#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {]}}"#;
    let findings = scan(broken);
    assert_eq!(ids(&findings), ["keras.malformed", "keras.lambda-layer"]);
    let deep = format!(r#"{{"class_name": "Sequential", "config": {{"x": {}{}}}}}"#, "[".repeat(500), "]".repeat(500));
    let findings = scan(&deep);
    assert_eq!(ids(&findings), ["keras.malformed"]);
    assert_eq!(worst(&findings), Some(Severity::High));
}

#[test]
fn oversized_keras_config_hits_the_limit() {
    let mut settings = ScanSettings::default();
    settings.limits.max_header_bytes = 100;
    let mut ctx = ScanContext::new(&settings, "config.json");
    scan_json(&mut ctx, KERAS2_MODEL.as_bytes());
    assert_eq!(ids(&ctx.finish().0), ["scan.limit-exceeded"]);
}

#[test]
fn training_config_text_is_walked_even_without_class_name() {
    let settings = ScanSettings::default();
    let mut ctx = ScanContext::new(&settings, "m.h5");
    let text = r#"{"loss": {"module": "os", "class_name": "function", "config": "system"}, "optimizer_config": {"class_name": "Adam", "config": {}}}"#;
    assert!(scan_config_text(&mut ctx, text, 500));
    let findings = ctx.finish().0;
    assert_eq!(worst(&findings), Some(Severity::Critical));
    assert_eq!(findings[0].location.offset, Some(500 + text.find("\"os").unwrap() as u64));
}

proptest! {
    #[test]
    fn random_json_never_panics(text in r#"\{("(class_name|config|layers|module|function|code|registered_name)":("Lambda"|"os"|"a>b"|\[|\{|NaN|-?[0-9]{1,3}|"4wEA"),?){0,8}(\]|\}){0,4}"#) {
        let _ = scan(&text);
    }
}
