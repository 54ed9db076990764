//! soberana-node.
