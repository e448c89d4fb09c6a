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
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Pinned: a new release may read differently, and a test result must not change by itself.
const ZXING_CPP: &str = "zxing-cpp==3.1.1";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/render_common/zxing_read.py"
);

struct Reader {
    // Kept so the process lives as long as the pipes; it exits when stdin closes.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The content zxing-cpp finds in a luma image (0 dark … 255 light), or `None`.
pub fn read_zxing(width: u32, height: u32, luma: &[u8]) -> Option<Vec<u8>> {
    assert_eq!(
        luma.len(),
        (width * height) as usize,
        "luma is width × height"
    );
    static READER: OnceLock<Mutex<Reader>> = OnceLock::new();
    let reader = READER.get_or_init(|| Mutex::new(start()));
    let mut r = reader
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    writeln!(r.stdin, "{width} {height}").expect("zxing reader takes a header");
    r.stdin
        .write_all(luma)
        .expect("zxing reader takes the pixels");
    r.stdin.flush().expect("zxing reader pipe");
    let mut line = String::new();
    r.stdout.read_line(&mut line).expect("zxing reader answers");
    match line.trim_end() {
        "" => panic!("the zxing reader exited (see its stderr above)"),
        "-" => None,
        hex => Some(from_hex(hex)),
    }
}

fn start() -> Reader {
    let python = venv_python();
    let mut child = Command::new(&python)
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
    Reader {
        stdin: child.stdin.take().expect("piped stdin"),
        stdout: BufReader::new(child.stdout.take().expect("piped stdout")),
        _child: child,
    }
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

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("the reader prints hex"))
        .collect()
}
