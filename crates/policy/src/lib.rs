//! soberana-policy.
