//! A third QR decoder for the render tests: zxing-cpp, the C++ ZXing (its QR detector and
//! sampler rewritten, not ported: it locates finders as concentric rings, so it reads round
//! and circular eyes, which `rqrr` cannot), through its Python binding.
//!
//! Python rather than the Rust binding: the `zxing-cpp` crate builds the C++ library with
//! cmake, which a fresh machine does not have, while the Python wheel (1 MB, no other package)
//! installs from PyPI in seconds. The first use makes a virtualenv under the target directory
//! (`CARGO_TARGET_TMPDIR/zxing-cpp-VERSION`, shared by the test binaries under a file lock) and
//! starts one reader process, fed images over a pipe, for the rest of the test binary.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::pipe::PipeReader;

/// Pinned: a new release may read differently, and a test result must not change by itself.
const ZXING_CPP: &str = "zxing-cpp==3.1.1";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/render_common/zxing_read.py"
);

/// The content zxing-cpp finds in a luma image (0 dark … 255 light), or `None`.
pub fn read_zxing(width: u32, height: u32, luma: &[u8]) -> Option<Vec<u8>> {
    ask(&format!("{width} {height}"), width, height, luma)
}

/// The text zxing-cpp makes of the code in a luma image (its character-set decoding, what an
/// app built on it shows), or `None`.
pub fn read_zxing_text(width: u32, height: u32, luma: &[u8]) -> Option<String> {
    ask(&format!("{width} {height} text"), width, height, luma)
        .map(|b| String::from_utf8(b).expect("the reader prints UTF-8"))
}

fn ask(header: &str, width: u32, height: u32, luma: &[u8]) -> Option<Vec<u8>> {
    static READER: OnceLock<Mutex<PipeReader>> = OnceLock::new();
    READER
        .get_or_init(|| Mutex::new(PipeReader::start(&venv_python(), SCRIPT)))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .read(header, width, height, luma)
}

/// The virtualenv's python with zxing-cpp installed, made on first use.
fn venv_python() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(ZXING_CPP.replace("==", "-"));
    fs::create_dir_all(&dir).expect("creating the zxing-cpp directory");
    let lock = File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("locking the zxing-cpp virtualenv");
    let python = dir.join("venv/bin/python");
    if !ready(&python) {
        run(Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv")));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            ZXING_CPP,
        ]));
        assert!(ready(&python), "{ZXING_CPP} installed but does not import");
    }
    python
}

fn ready(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import zxingcpp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("{cmd:?}: {e} (the render tests need python3 with venv and pip)")
    });
    assert!(
        status.success(),
        "{cmd:?}: {status} (PyPI must be reachable once)"
    );
}
