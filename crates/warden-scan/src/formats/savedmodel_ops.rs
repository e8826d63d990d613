//! The TensorFlow operator catalogue: which operators run Python, touch files or the network,
//! and which belong to the checkpoint machinery every SavedModel carries.
//!
//! Sources: the TensorFlow op registry (`tensorflow/core/ops/*.cc`), what ModelScan and
//! ModelAudit flag, and the TensorAbuse study of file and network APIs reachable from saved
//! graphs. Names are exact (`ReadVariableOp` is not `ReadFile`); keep the lists sorted (a test
//! checks) so lookups are binary searches.

/// What an operator can do when the graph runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpClass {
    /// Calls a Python function in the loading process, or is named for code execution.
    Python,
    /// Reads, lists or maps files named by its inputs or attributes.
    FileRead,
    /// Writes files.
    FileWrite,
    /// Connects to other hosts.
    Network,
    /// A tf.data reader of record, text, CSV, SQL or LMDB files.
    DatasetReader,
    /// Initialises a lookup table from a vocabulary file (usually a SavedModel asset).
    VocabularyFile,
    /// Saves or restores variables: every SavedModel's saver uses these.
    Checkpoint,
    /// tfdbg operators: harmless unless `debug_urls` sends tensors somewhere.
    Debug,
    /// `PrintV2`: writes a file when `output_stream` is `file://...`.
    Print,
    /// `DecodeProtoV2` / `EncodeProto`: read a descriptor file unless `descriptor_source` is
    /// `local://` or `bytes://...`.
    ProtoCodec,
}

/// Classifies an operator by name; `None` for the (vast) majority that only compute.
pub(crate) fn classify(op: &str) -> Option<OpClass> {
    let lists: [(&[&str], OpClass); 8] = [
        (PYTHON_OPS, OpClass::Python),
        (FILE_READ_OPS, OpClass::FileRead),
        (FILE_WRITE_OPS, OpClass::FileWrite),
        (NETWORK_OPS, OpClass::Network),
        (DATASET_READER_OPS, OpClass::DatasetReader),
        (VOCABULARY_FILE_OPS, OpClass::VocabularyFile),
        (CHECKPOINT_OPS, OpClass::Checkpoint),
        (DEBUG_OPS, OpClass::Debug),
    ];
    if let Some((_, class)) = lists.iter().find(|(list, _)| list.binary_search(&op).is_ok()) {
        return Some(*class);
    }
    match op {
        "PrintV2" => Some(OpClass::Print),
        "DecodeProtoV2" | "EncodeProto" => Some(OpClass::ProtoCodec),
        // Custom ops wrapping Python under other names (`MyPyFuncWrapper`, `PythonCall`).
        _ if op.contains("PyFunc") || op.contains("Python") => Some(OpClass::Python),
        _ => None,
    }
}

const PYTHON_OPS: &[&str] = &[
    "EagerPyFunc", "ExecuteOp", "PyCall", "PyFunc", "PyFuncStateless", "ShellExecute", "SystemConfig",
];

const FILE_READ_OPS: &[&str] = &[
    "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "GenerateVocabRemapping", "ImmutableConst",
    "LMDBReader", "LoadAndRemapMatrix", "MatchingFiles", "ReadFile", "TFRecordReader", "TFRecordReaderV2",
    "TextLineReader", "TextLineReaderV2", "WholeFileReader", "WholeFileReaderV2",
];

const FILE_WRITE_OPS: &[&str] = &[
    "CreateSummaryDbWriter", "CreateSummaryFileWriter", "DatasetToTFRecord", "ExperimentalDatasetToTFRecord",
    "SaveDataset", "SaveDatasetV2", "SnapshotDataset", "SnapshotDatasetV2", "WriteFile",
];

const NETWORK_OPS: &[&str] = &[
    "BigQueryReader", "DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
    "DataServiceDatasetV4", "DistributedSave", "GenerateBigQueryReaderPartitions", "RegisterDataset",
    "RegisterDatasetV2", "RemoteCall", "Rpc", "RpcCall", "RpcCheckStatus", "RpcClient", "RpcGetValue",
    "RpcServer", "RpcServerRegister", "RpcServerStart", "TryRpc",
];

const DATASET_READER_OPS: &[&str] = &[
    "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "ExperimentalLMDBDataset",
    "ExperimentalMatchingFilesDataset", "ExperimentalSqlDataset", "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2", "LMDBDataset", "ListSnapshotChunksDataset", "LoadDataset",
    "MatchingFilesDataset", "SnapshotChunkDataset", "SnapshotDatasetReader", "SqlDataset", "TFRecordDataset",
    "TFRecordDatasetV2", "TextLineDataset",
];

const VOCABULARY_FILE_OPS: &[&str] = &[
    "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
];

const CHECKPOINT_OPS: &[&str] = &[
    "MergeV2Checkpoints", "Restore", "RestoreSlice", "RestoreV2", "Save", "SaveSlices", "SaveV2",
    "ShardedFilename", "ShardedFilespec",
];

const DEBUG_OPS: &[&str] = &[
    "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
    "DebugNumericSummaryV2",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_lists_are_sorted_for_binary_search() {
        for list in [
            PYTHON_OPS,
            FILE_READ_OPS,
            FILE_WRITE_OPS,
            NETWORK_OPS,
            DATASET_READER_OPS,
            VOCABULARY_FILE_OPS,
            CHECKPOINT_OPS,
            DEBUG_OPS,
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "unsorted: {list:?}");
        }
    }

    #[test]
    fn classifies_by_exact_name() {
        assert_eq!(classify("ReadFile"), Some(OpClass::FileRead));
        assert_eq!(classify("WriteFile"), Some(OpClass::FileWrite));
        assert_eq!(classify("EagerPyFunc"), Some(OpClass::Python));
        assert_eq!(classify("MyPyFuncWrapper"), Some(OpClass::Python));
        assert_eq!(classify("SaveV2"), Some(OpClass::Checkpoint));
        assert_eq!(classify("TFRecordDatasetV2"), Some(OpClass::DatasetReader));
        assert_eq!(classify("TryRpc"), Some(OpClass::Network));
        assert_eq!(classify("PrintV2"), Some(OpClass::Print));
        for benign in ["ReadVariableOp", "VarHandleOp", "MatMul", "StringJoin", "StaticRegexFullMatch", "Identity", "NoOp"] {
            assert_eq!(classify(benign), None, "{benign}");
        }
    }
}
