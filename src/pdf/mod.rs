//! PDF signing (PAdES): lazy reader, incremental writer, fields, appearance.
