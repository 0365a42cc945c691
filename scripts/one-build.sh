# Sourced by the test scripts: the cargo arguments that make every release build of the suite
# resolve the same features for the crates they share, so that arrow, core and replica compile
# once for the tests, the C library and the Python wheel instead of once for each.
#
# Cargo unifies features across the packages one invocation selects, proc-macros (and the syn
# they are built with) included; a proc-macro built with other features makes every crate
# above it a new build. The Python binding's pyo3 macros turn on more of syn than the rest of
# the workspace does, and maturin builds that crate alone: so each other release build names
# it too (its library is not built by `cargo test --test NAME`; `cargo build` builds it, a
# minute the wheel's build then reuses). The arrow features are the same in every member
# (the root Cargo.toml), and no build script or proc-macro of the C library adds its own.
one_build=(-p pluriverse-python --features pluriverse-python/abi3)
