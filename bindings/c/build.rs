//! Generates `pluriverse.h` from this crate's source with cbindgen, into `$OUT_DIR`.
//!
//! The committed copy is `include/pluriverse.h`; `scripts/test-c.sh` finds the generated one
//! through `out_dir` in `cargo build --message-format=json`, compares the two and fails on
//! any difference (`scripts/test-c.sh --bless` copies the generated one over).

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml is readable and valid");
    let header = out_dir.join("pluriverse.h");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates pluriverse.h")
        .write_to_file(&header);
}
