//! The ONNX operator catalogue: which domains are standard, which belong to ONNX Runtime, and
//! which operator names the ONNX specification defines. Everything else needs a custom-op library
//! (native code) loaded into the runtime.
//!
//! The operator lists were generated from `onnx.defs.get_all_schemas_with_history()` (onnx 1.23),
//! plus the experimental operators early opsets defined and later removed; keep them sorted
//! (a test checks) so lookups are binary searches.

/// Who defines the operators of a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DomainKind {
    /// The ONNX specification (`""` / `ai.onnx`, `ai.onnx.ml`, the training and preview domains).
    Standard,
    /// ONNX Runtime's built-in contrib operators: native code, but shipped with the runtime.
    RuntimeContrib,
    /// Anything else: the runtime must load a custom-op library to run it.
    Custom,
}

/// Domains whose operators ONNX Runtime ships itself.
const RUNTIME_CONTRIB_DOMAINS: &[&str] = &[
    "com.microsoft",
    "com.microsoft.experimental",
    "com.microsoft.nchwc",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
];

/// Operators that call back into a Python interpreter: ONNX Runtime training's `PythonOp` (runs a
/// `torch.autograd.Function` named by its `func_name` attribute), onnxruntime-extensions' `PyOp`,
/// and TensorFlow-style names a converter may carry over.
const PYTHON_OPS: &[&str] =
    &["EagerPyFunc", "PyFunc", "PyFuncStateless", "PyOp", "PythonFunction", "PythonOp", "PythonOpGrad"];

/// Words in a custom operator's name or attribute names that say it runs commands or code.
const EXECUTION_WORDS: &[&str] = &["cmd", "command", "eval", "exec", "popen", "python", "script", "shell", "spawn", "subprocess", "system"];

/// Fragments of attribute values that look like shell commands or Python code.
const COMMAND_MARKERS: &[&str] =
    &["/bin/bash", "/bin/sh", "__import__", "bash -c", "cmd.exe", "eval(", "exec(", "os.system", "powershell", "sh -c", "subprocess"];

/// Why a custom operator looks like it runs commands or code: its name, an attribute name, or
/// an attribute value. `attributes` are `(name, string values)`.
pub(crate) fn execution_hint(op: &str, attributes: &[(String, Vec<String>)]) -> Option<String> {
    let lower = op.to_ascii_lowercase();
    if let Some(word) = EXECUTION_WORDS.iter().find(|w| lower.contains(**w)) {
        return Some(format!("name (`{word}`)"));
    }
    for (name, values) in attributes {
        if EXECUTION_WORDS.contains(&name.to_ascii_lowercase().as_str()) {
            return Some(format!("attribute `{name}`"));
        }
        let command = values.iter().find(|v| COMMAND_MARKERS.iter().any(|m| v.to_ascii_lowercase().contains(m)));
        if command.is_some() {
            return Some(format!("attribute `{name}` value"));
        }
    }
    None
}

/// Classifies an operator domain.
pub(crate) fn domain_kind(domain: &str) -> DomainKind {
    match domain {
        "" | "ai.onnx" | "ai.onnx.ml" | "ai.onnx.training" | "ai.onnx.preview.training" | "ai.onnx.preview" => DomainKind::Standard,
        d if RUNTIME_CONTRIB_DOMAINS.contains(&d) => DomainKind::RuntimeContrib,
        _ => DomainKind::Custom,
    }
}

/// True if the ONNX specification defines `op` in the standard `domain`.
pub(crate) fn is_standard_op(domain: &str, op: &str) -> bool {
    let ops = match domain {
        "" | "ai.onnx" => AI_ONNX,
        "ai.onnx.ml" => AI_ONNX_ML,
        "ai.onnx.preview.training" | "ai.onnx.training" => AI_ONNX_PREVIEW_TRAINING,
        "ai.onnx.preview" => AI_ONNX_PREVIEW,
        _ => return false,
    };
    ops.binary_search(&op).is_ok()
}

/// True if `op` runs Python code in the runtime, whatever its domain.
pub(crate) fn is_python_op(op: &str) -> bool {
    PYTHON_OPS.contains(&op)
}

const AI_ONNX: &[&str] = &[
    "ATen", "Abs", "Acos", "Acosh", "Add", "Affine", "AffineGrid", "And", "ArgMax", "ArgMin", "Asin", "Asinh",
    "Atan", "Atanh", "Attention", "AveragePool", "BatchNormalization", "Bernoulli", "BitCast", "BitShift",
    "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "BlackmanWindow", "Cast", "CastLike",
    "CausalConvWithState", "Ceil", "Celu", "CenterCropPad", "Clip", "Col2Im", "Compress", "Concat",
    "ConcatFromSequence", "Constant", "ConstantFill", "ConstantOfShape", "Conv", "ConvInteger",
    "ConvTranspose", "Cos", "Cosh", "Crop", "CumProd", "CumSum", "DFT", "DeformConv", "DepthToSpace",
    "DequantizeLinear", "Det", "Div", "Dropout", "DynamicQuantizeLinear", "DynamicSlice", "Einsum", "Elu",
    "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "GRU", "GRUUnit", "Gather",
    "GatherElements", "GatherND", "Gelu", "Gemm", "GivenTensorFill", "GlobalAveragePool", "GlobalLpPool",
    "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GroupNormalization", "HammingWindow",
    "HannWindow", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "If", "ImageDecoder", "ImageScaler",
    "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu", "Less",
    "LessOrEqual", "LinearAttention", "Log", "LogSoftmax", "Loop", "LpNormalization", "LpPool", "MatMul",
    "MatMulInteger", "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization",
    "MelWeightMatrix", "Min", "Mish", "Mod", "Mul", "Multinomial", "Neg", "NegativeLogLikelihoodLoss",
    "NonMaxSuppression", "NonZero", "Not", "OneHot", "Optional", "OptionalGetElement", "OptionalHasElement",
    "Or", "PRelu", "Pad", "ParametricSoftplus", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear",
    "RMSNormalization", "RNN", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
    "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "RegexFullMatch", "Relu",
    "Reshape", "Resize", "ReverseSequence", "RoiAlign", "RotaryEmbedding", "Round", "STFT", "Scale",
    "ScaledTanh", "Scan", "Scatter", "ScatterElements", "ScatterND", "Selu", "SequenceAt",
    "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap",
    "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax",
    "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth", "Split", "SplitToSequence", "Sqrt",
    "Squeeze", "StringConcat", "StringNormalizer", "StringSplit", "Sub", "Sum", "SwiGLU", "Swish", "Tan",
    "Tanh", "TensorScatter", "TfIdfVectorizer", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu",
    "Unique", "Unsqueeze", "Upsample", "Where", "Xor",
];
const AI_ONNX_ML: &[&str] = &[
    "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer", "FeatureVectorizer",
    "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor", "Normalizer", "OneHotEncoder",
    "SVMClassifier", "SVMRegressor", "Scaler", "TreeEnsemble", "TreeEnsembleClassifier",
    "TreeEnsembleRegressor", "ZipMap",
];
const AI_ONNX_PREVIEW_TRAINING: &[&str] = &[
    "Adagrad", "Adam", "Gradient", "Momentum",
];
const AI_ONNX_PREVIEW: &[&str] = &[
    "FlexAttention",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_lists_are_sorted_for_binary_search() {
        for list in [AI_ONNX, AI_ONNX_ML, AI_ONNX_PREVIEW_TRAINING, AI_ONNX_PREVIEW, PYTHON_OPS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "unsorted: {list:?}");
        }
    }

    #[test]
    fn classifies_domains_and_ops() {
        assert_eq!(domain_kind(""), DomainKind::Standard);
        assert_eq!(domain_kind("ai.onnx.ml"), DomainKind::Standard);
        assert_eq!(domain_kind("com.microsoft"), DomainKind::RuntimeContrib);
        assert_eq!(domain_kind("com.evil"), DomainKind::Custom);
        assert!(is_standard_op("", "Conv") && is_standard_op("ai.onnx", "MatMul") && is_standard_op("ai.onnx.ml", "ZipMap"));
        assert!(!is_standard_op("", "ZipMap") && !is_standard_op("", "MyOp") && !is_standard_op("com.x", "Add"));
        assert!(is_python_op("PythonOp") && !is_python_op("Relu"));
    }

    #[test]
    fn execution_hints_come_from_names_and_values() {
        let none: Vec<(String, Vec<String>)> = Vec::new();
        assert_eq!(execution_hint("RunShell", &none).as_deref(), Some("name (`shell`)"));
        assert_eq!(execution_hint("BertTokenizer", &none), None);
        let command = vec![("command".to_owned(), vec!["echo hi".to_owned()])];
        assert_eq!(execution_hint("Foo", &command).as_deref(), Some("attribute `command`"));
        let value = vec![("arg".to_owned(), vec!["bash -c 'id'".to_owned()])];
        assert_eq!(execution_hint("Foo", &value).as_deref(), Some("attribute `arg` value"));
        let benign = vec![("pattern".to_owned(), vec!["[a-z]+".to_owned()])];
        assert_eq!(execution_hint("StringRegexReplace", &benign), None);
    }
}
