//! One module per file format. Each exposes `scan(ctx, data)` (or a few named entry points) and
//! a `RULES` slice listing the rules it can report.

pub mod archive;
pub mod gguf;
pub mod hdf5;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod protobuf;
pub mod pytorch;
pub mod safetensors;
pub mod savedmodel;
pub mod zip;
