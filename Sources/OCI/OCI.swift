// OCI image types, canonical JSON, layout reading and writing.
