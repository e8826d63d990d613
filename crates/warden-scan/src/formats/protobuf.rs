//! SCAFFOLD: protobuf wire reader (being written).
