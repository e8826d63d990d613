//! One module per file format. Each exposes `scan(ctx, data)` (or a few named entry points) and
//! a `RULES` slice listing the rules it can report.

pub mod archive;
mod archive_codec;
pub mod gguf;
mod gguf_template;
pub mod hdf5;
mod hdf5_reader;
pub mod keras;
mod keras_lambda;
pub mod numpy;
pub mod onnx;
pub mod protobuf;
pub mod pytorch;
pub mod safetensors;
pub mod savedmodel;
pub mod zip;
#[cfg(test)]
mod zip_fixture;
mod zip_layout;
