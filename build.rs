//! Embeds every file under `web/addin/` in the binary, so the add-in pages are served from any
//! working directory and a file added there is served without a code change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = root.join("web/addin");
    // Cargo looks at every file under a directory named here, so new files rebuild too.
    println!("cargo:rerun-if-changed=web/addin");
    println!("cargo:rerun-if-changed=build.rs");

    let mut files = Vec::new();
    if web.is_dir() {
        collect(&web, &web, &mut files);
    }
    files.sort();

    let mut out = String::from("&[\n");
    for (url_path, file) in &files {
        writeln!(
            out,
            "    ({url_path:?}, include_bytes!({:?}) as &[u8]),",
            file.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    out.push(']');
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("addin_files.rs");
    std::fs::write(&target, out).expect("cannot write the asset table");
}

/// Every regular file below `dir`, as (path relative to `root` with `/`, absolute path). Hidden
/// files (editor swap files, `.DS_Store`) are left out.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.is_file() {
            let relative = path.strip_prefix(root).expect("below the root");
            let url_path: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((url_path.join("/"), path));
        }
    }
}
