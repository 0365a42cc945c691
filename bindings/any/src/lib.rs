//! pluriverse states whose kind and key/value types are chosen at run time.
