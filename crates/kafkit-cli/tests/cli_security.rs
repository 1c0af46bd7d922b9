//! The CLI reaches the test broker's SASL_SSL listener (127.0.0.1:9096, started by
//! `scripts/test`) with flags and with environment variables, and explains a refused login.

use std::process::Command;

fn tls_dir() -> String {
    std::env::var("KAFKIT_TLS_DIR")
        .unwrap_or_else(|_| format!("{}/../../.kafka/default/tls", env!("CARGO_MANIFEST_DIR")))
}

fn kafkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kafkit"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KAFKIT_SASL")
            || k.starts_with("KAFKIT_TLS")
            || k == "KAFKIT_SECURITY_PROTOCOL"
        {
            c.env_remove(k);
        }
    }
    c.args(["--bootstrap", "127.0.0.1:9096"]);
    c
}

#[test]
fn metadata_over_sasl_ssl_with_flags_and_with_env() {
    let ca = format!("{}/ca.pem", tls_dir());
    let out = kafkit()
        .args([
            "--security-protocol",
            "SASL_SSL",
            "--sasl-mechanism",
            "SCRAM-SHA-256",
        ])
        .args([
            "--sasl-username",
            "alice",
            "--sasl-password",
            "alice-secret",
            "--tls-ca-file",
            &ca,
        ])
        .arg("metadata")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("broker 1 at 127.0.0.1:9096"), "{stdout}");

    let out = kafkit()
        .env("KAFKIT_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("KAFKIT_SASL_USERNAME", "alice")
        .env("KAFKIT_SASL_PASSWORD", "alice-secret")
        .env("KAFKIT_TLS_CA_FILE", &ca)
        .arg("metadata")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kafkit()
        .env("KAFKIT_SASL_MECHANISM", "PLAIN")
        .env("KAFKIT_SASL_USERNAME", "alice")
        .env("KAFKIT_SASL_PASSWORD", "not-the-password")
        .env("KAFKIT_TLS_CA_FILE", &ca)
        .arg("metadata")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("PLAIN as 'alice' was refused"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}
