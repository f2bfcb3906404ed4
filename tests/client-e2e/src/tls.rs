//! A throwaway certificate authority for serving the relay over HTTPS in tests: a CA the test
//! trusts explicitly (`--ca-file`) and a relay certificate it signed for 127.0.0.1 and
//! localhost. Made with the `openssl` CLI, so no TLS crate is compiled for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The PEM files of one test CA and the relay certificate it signed.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate: what a client must trust.
    pub ca_cert: PathBuf,
    /// The relay's certificate (SAN IP:127.0.0.1, DNS:localhost).
    pub relay_cert: PathBuf,
    /// The relay's private key (PKCS#8).
    pub relay_key: PathBuf,
}

impl TestCa {
    /// Makes a CA and a relay certificate in `dir`, valid for two days.
    pub fn make(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let p = |name: &str| dir.join(name);
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            dir,
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-nodes",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=Tessera e2e test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        )?;
        openssl(
            dir,
            &[
                &["req"],
                &ec[..],
                &[
                    "-nodes",
                    "-keyout",
                    "relay.key",
                    "-out",
                    "relay.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
        )?;
        std::fs::write(
            p("relay.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "relay.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "relay.pem",
                "-days",
                "2",
                "-extfile",
                "relay.ext",
            ],
        )?;
        Ok(Self {
            ca_cert: p("ca.pem"),
            relay_cert: p("relay.pem"),
            relay_key: p("relay.key"),
        })
    }
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running openssl (the tests make their certificates with it)")?;
    if !out.status.success() {
        bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// `GET /health` over HTTPS answers 200 (the certificate is not checked: this only waits for
/// the relay to be up).
pub(crate) fn health(port: u16) -> bool {
    Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "2",
        ])
        .arg(format!("https://127.0.0.1:{port}/health"))
        .output()
        .is_ok_and(|o| o.stdout == b"200")
}
