//! The `pluriverse` command's library: the lossy-network simulator and state-file tools.
