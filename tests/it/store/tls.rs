//! `--database-url … sslmode=require|verify-full` against a real PostgreSQL that speaks TLS and
//! refuses plain connections: a test cluster of this file's own, with a certificate issued by a
//! test CA for `localhost` only.
//!
//! Each case runs the real binary (`qr-origin merchant list`, which opens the store and applies
//! the migrations) and checks its exit status and its one-line error.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::temp_dir;
use qr_origin::store::testing::cluster::Cluster;

/// Runs `openssl` with `args` in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`{name}.pem`, `{name}.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=qr-origin test {name}"),
            "-keyout",
            &key,
            "-out",
            &pem,
        ],
    );
}

/// A cluster that accepts only TLS connections (`hostssl` in `pg_hba.conf`, plain `host`
/// rejected), its certificate for DNS name `localhost` signed by `ca.pem` in the returned dir;
/// `None` where PostgreSQL is not installed (see [`Cluster::create`]).
fn tls_cluster() -> Option<(Cluster, std::path::PathBuf)> {
    let certs = temp_dir("pg-tls-certs");
    make_ca(&certs, "ca");
    make_ca(&certs, "other-ca");
    let cluster = Cluster::create_with(|dir| {
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("write");
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        let ca = certs.join("ca.pem");
        let ca_key = certs.join("ca.key");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                ca.to_str().expect("utf-8"),
                "-CAkey",
                ca_key.to_str().expect("utf-8"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ],
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        std::fs::write(
            dir.join("data/pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostssl all all ::1/128 trust\n\
             host all all 127.0.0.1/32 reject\n\
             host all all ::1/128 reject\n",
        )
        .expect("write pg_hba.conf");
        vec![
            "ssl=on".into(),
            format!("ssl_cert_file={}", dir.join("server.crt").display()),
            format!("ssl_key_file={}", dir.join("server.key").display()),
        ]
    })?;
    Some((cluster, certs))
}

fn merchant_list(url: &str) -> Output {
    let data = temp_dir("tls-cli");
    let out = Command::new(env!("CARGO_BIN_EXE_qr-origin"))
        .args(["merchant", "--data-dir"])
        .arg(&data)
        .args(["--database-url", url, "list"])
        .env_remove("QR_ORIGIN_DATABASE_URL")
        .output()
        .expect("qr-origin runs");
    let _ = std::fs::remove_dir_all(data);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tls_modes_against_a_server_that_refuses_plain_connections() {
    let Some((cluster, certs)) = tls_cluster() else {
        return;
    };
    let port = cluster.port;
    let ca = certs.join("ca.pem");
    let other = certs.join("other-ca.pem");

    // The control: without TLS the server turns us away, so every success below went over TLS.
    let plain = merchant_list(&format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    assert!(
        !plain.status.success(),
        "a plain connection must be refused"
    );
    assert!(stderr(&plain).contains("pg_hba.conf"), "{}", stderr(&plain));

    let require = merchant_list(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    ));
    assert!(require.status.success(), "require: {}", stderr(&require));
    assert_eq!(String::from_utf8_lossy(&require.stdout).trim(), "[]");

    let verified = merchant_list(&format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ));
    assert!(
        verified.status.success(),
        "verify-full: {}",
        stderr(&verified)
    );

    // verify-full checks the chain: a certificate from another CA is refused...
    let wrong_ca = merchant_list(&format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        other.display()
    ));
    assert!(!wrong_ca.status.success(), "another CA must be refused");
    let msg = stderr(&wrong_ca);
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    assert_eq!(msg.trim().lines().count(), 1, "one line: {msg}");

    // ...and the host name: the certificate names localhost, not 127.0.0.1.
    let wrong_host = merchant_list(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ));
    assert!(
        !wrong_host.status.success(),
        "a host the certificate does not name"
    );
    assert!(
        stderr(&wrong_host).to_lowercase().contains("certificate"),
        "{}",
        stderr(&wrong_host)
    );

    drop(cluster);
    let _ = std::fs::remove_dir_all(certs);
}
