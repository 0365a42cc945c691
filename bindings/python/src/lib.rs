//! The Python face of pluriverse (being written).
