//! The C face of pluriverse (being written).
