//! soberana-linkage.
