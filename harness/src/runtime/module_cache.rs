//! Compiled modules kept on disk between runs, keyed by what they were compiled from.
//!
//! Deserializing a compiled module is `unsafe`: wasmtime only lightly checks the bytes, which
//! must be exactly what [`Module::serialize`] wrote. So the harness only reads files that it
//! wrote itself, in a directory that no other user can write to, and each file is written
//! to a temporary name and renamed into place, never rewritten: a reader sees a whole file,
//! and a file it has mapped never changes under it. Wasmtime rejects a file from another
//! wasmtime version or configuration, or one that is not a compiled module at all. Whatever
//! goes wrong with the cache, the module is compiled as if there were none.

use std::cmp::Reverse;
use std::ffi::{OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime_provider::wasmtime::{Engine, Module, Result};

/// The extension of a compiled module; temporary files have another one.
const EXTENSION: &str = "cwasm";

/// Compiled modules kept in the directory, newest first: a few policies or builds of one,
/// but not every build ever run (each is a few MB).
const KEEP: usize = 8;

/// The cache directory the environment asks for: `$HARNESS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/azwi-harness`, else `~/.cache/azwi-harness`, else `azwi-harness` in
/// the system's temporary directory; none if `HARNESS_NO_CACHE` is set (to anything but
/// empty or `0`).
pub(super) fn dir() -> Option<PathBuf> {
    dir_from(|name| std::env::var_os(name))
}

/// [`dir`] with the environment read through `var`.
pub(super) fn dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name| var(name).filter(|value| !value.is_empty());
    if set("HARNESS_NO_CACHE").is_some_and(|value| value != "0") {
        return None;
    }
    if let Some(dir) = set("HARNESS_CACHE_DIR") {
        return Some(dir.into());
    }
    // The XDG base directory spec says to ignore a relative $XDG_CACHE_HOME.
    let base = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    Some(base.join("azwi-harness"))
}

/// The module compiled from `wasm` for `engine`: read from `cache` if compiled there
/// before, else compiled (and then written there). Only compilation errors are returned.
pub(super) fn module(engine: &Engine, wasm: &[u8], cache: Option<&Path>) -> Result<Module> {
    let Some(dir) = cache.filter(|dir| private_dir(dir)) else {
        return Module::new(engine, wasm);
    };
    let path = dir.join(file_name(engine, wasm));
    // SAFETY: `path` is in a directory only this user can write to, where the harness
    // writes nothing but whole `Module::serialize` outputs under this name, by rename,
    // so the file is one of those and is never modified while mapped. Wasmtime rejects
    // one from another wasmtime version or configuration.
    if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
        return Ok(module);
    }
    let module = Module::new(engine, wasm)?;
    if let Ok(bytes) = module.serialize()
        && write_atomically(&path, &bytes).is_ok()
    {
        prune(dir);
    }
    Ok(module)
}

/// `<sha256 of the engine's compatibility hash and the wasm bytes>.cwasm`: a new name for
/// each module, and for each wasmtime version or configuration compiling it.
fn file_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut compatibility = DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut compatibility);
    let digest = Sha256::new()
        .chain_update(compatibility.finish().to_le_bytes())
        .chain_update(wasm)
        .finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{hex}.{EXTENSION}")
}

/// Creates `dir` if needed (private to the user) and tells whether it can hold the cache:
/// a directory owned by this user that nobody else can write to.
fn private_dir(dir: &Path) -> bool {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    if builder.create(dir).is_err() {
        return false;
    }
    fs::metadata(dir).is_ok_and(|metadata| metadata.is_dir() && only_mine(&metadata))
}

/// Whether the file is owned by this user and nobody else can write to it.
#[cfg(unix)]
fn only_mine(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    metadata.uid() == rustix::process::geteuid().as_raw() && metadata.mode() & 0o022 == 0
}

/// Elsewhere the user's cache directory is trusted as it is.
#[cfg(not(unix))]
fn only_mine(_: &fs::Metadata) -> bool {
    true
}

/// Writes `bytes` to a new temporary file beside `path`, then renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let temporary = path.with_extension(format!("{}-{unique}.tmp", std::process::id()));
    let written = write_new(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// Writes `bytes` to a file that must not exist yet, down to the disk: once renamed, it
/// is whole even after a crash.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

/// Removes all but the [`KEEP`] most recently written modules of `dir`.
fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut modules: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path();
            let written = entry.metadata().ok()?.modified().ok()?;
            (path.extension() == Some(OsStr::new(EXTENSION))).then_some((written, path))
        })
        .collect();
    if modules.len() > KEEP {
        modules.sort_unstable_by_key(|(written, _)| Reverse(*written));
        for (_, path) in &modules[KEEP..] {
            let _ = fs::remove_file(path);
        }
    }
}
