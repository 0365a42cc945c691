//! `include/pluriverse.h`, the committed header, is what cbindgen generates from `src/` with
//! `cbindgen.toml`: a change to the C API that is not in the header fails here.
//!
//! `PLURIVERSE_BLESS_HEADER=1 cargo test -p pluriverse-c --test header` (or
//! `bash scripts/test-c.sh --bless`) writes the generated header over the committed one.

use std::path::Path;

#[test]
fn the_committed_header_is_the_one_cbindgen_generates() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml is readable and valid");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates pluriverse.h")
        .write(&mut generated);
    let committed_path = crate_dir.join("include/pluriverse.h");
    if std::env::var_os("PLURIVERSE_BLESS_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&committed_path, &generated).expect("write include/pluriverse.h");
        return;
    }
    let committed = std::fs::read(&committed_path).expect("read include/pluriverse.h");
    if committed != generated {
        let (c, g) = (
            String::from_utf8_lossy(&committed),
            String::from_utf8_lossy(&generated),
        );
        let line = c.lines().zip(g.lines()).position(|(a, b)| a != b);
        let at = line.unwrap_or_else(|| c.lines().count().min(g.lines().count()));
        panic!(
            "bindings/c/include/pluriverse.h differs from what cbindgen generates, first at \
             line {}:\n  committed: {:?}\n  generated: {:?}\n(rerun with \
             PLURIVERSE_BLESS_HEADER=1, or bash scripts/test-c.sh --bless, and commit it)",
            at + 1,
            c.lines().nth(at).unwrap_or("<end of file>"),
            g.lines().nth(at).unwrap_or("<end of file>"),
        );
    }
}
