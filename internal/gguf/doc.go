// Package gguf reads and writes GGUF files, the container in which llama.cpp
// and every published DeepSeek-R1 quantization store models.
//
// A GGUF file is a header (magic "GGUF", version 2 or 3, tensor and
// metadata counts), typed key/value metadata, tensor infos (name, shape,
// type, offset), padding to general.alignment (default 32), and the tensor
// data section. Open memory-maps the file read-only: tensor data is never
// copied into the heap, and TensorData returns slices of the mapping.
//
// Shapes are kept in GGUF order (innermost dimension first) in TensorInfo;
// model loaders convert them once to row-major, outermost-first order.
//
// Every malformed input is an error that names the problem and its byte
// offset (*FormatError); no input makes the reader panic or allocate more
// than the file's size can justify.
package gguf
