//! soberana-psi.
