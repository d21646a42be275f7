//! Loopback services for long-term signature tests: a TSA (`openssl ts
//! -reply`), an OCSP responder (`openssl ocsp -index`), and CRLs served as
//! files, all behind Python's http.server on 127.0.0.1, over a PKI whose certificates name
//! them (tests/fixtures/make-ltv-pki.sh). Only 127.0.0.1 is used.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common;

pub struct Services {
    pub pki: PathBuf,
    pub http_port: u16,
    children: Vec<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "service on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Services {
    /// A fresh PKI in `dir` and its services, running.
    pub fn start(dir: &Path) -> Services {
        let http_port = free_port();
        let pki = dir.join("ltv-pki");
        let out = common::run(
            Command::new("bash")
                .arg(common::repo().join("tests/fixtures/make-ltv-pki.sh"))
                .arg(&pki)
                .arg(http_port.to_string()),
        );
        assert!(
            out.status.success(),
            "make-ltv-pki.sh: {}",
            common::text(&out)
        );
        let mut s = Services {
            pki,
            http_port,
            children: Vec::new(),
        };
        s.spawn_all();
        s
    }

    fn spawn_all(&mut self) {
        let http = Command::new("python3")
            .arg(common::repo().join("tests/fixtures/ltv_services.py"))
            .arg(&self.pki)
            .arg(self.http_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ltv_services.py");
        self.children.push(http);
        wait_listening(self.http_port);
    }

    /// How many times the CRL `name` (e.g. `root.crl`) has been served.
    pub fn served(&self, name: &str) -> u32 {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.http_port)).unwrap();
        write!(c, "GET /served/{name} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        body.trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a count: {answer}"))
    }

    pub fn tsa(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.http_port)
    }

    /// `openssl ARGS` in the PKI's folder (its `openssl.cnf`), which must succeed.
    pub fn openssl(&self, args: &[&str]) {
        let out = common::run(Command::new("openssl").current_dir(&self.pki).args(args));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            common::text(&out)
        );
    }

    /// `openssl ca` as the sub-CA (which issued the signers), with `args`.
    pub fn sub_ca(&self, args: &[&str]) {
        let mut all = vec![
            "ca",
            "-config",
            "openssl.cnf",
            "-cert",
            "subca.pem",
            "-keyfile",
            "subca.key.pem",
        ];
        all.extend_from_slice(args);
        self.openssl(&all);
    }

    /// Revoke the signer's certificate: the responder and the CRL say so.
    pub fn revoke_signer(&self) {
        self.revoke("signer.cert.pem");
    }

    /// Revoke `cert` (a file the sub-CA issued): the responder and the
    /// sub-CA's CRL, published again, say so.
    fn revoke(&self, cert: &str) {
        self.sub_ca(&["-revoke", cert]);
        self.sub_ca(&["-gencrl", "-out", "subca.crl.pem"]);
        self.openssl(&[
            "crl",
            "-in",
            "subca.crl.pem",
            "-outform",
            "DER",
            "-out",
            "subca.crl",
        ]);
        self.tell_the_responder();
    }

    /// The responder answers from its own copy of the sub-CA's database
    /// (`openssl ocsp -index index.txt`): give it what was issued or revoked.
    fn tell_the_responder(&self) {
        std::fs::copy(self.pki.join("ca/index.txt"), self.pki.join("index.txt")).unwrap();
    }

    /// The signer's serial number as `openssl ocsp -serial` takes it.
    pub fn signer_serial(&self) -> String {
        let out = common::run(
            Command::new("openssl")
                .args(["x509", "-noout", "-serial", "-in"])
                .arg(self.file("signer.cert.pem")),
        );
        let text = common::text(&out);
        format!("0x{}", text.trim().trim_start_matches("serial="))
    }

    /// The responder's answer about the signer's serial under the issuer
    /// `ca` (a PEM file in the PKI folder), as `openssl ocsp` makes it when
    /// asked with that issuer; written to `NAME-resp.der`, whose path it returns.
    pub fn ocsp_answer(&self, ca: &str, name: &str) -> PathBuf {
        let (req, resp) = (format!("{name}-req.der"), format!("{name}-resp.der"));
        let serial = self.signer_serial();
        self.openssl(&["ocsp", "-issuer", ca, "-serial", &serial, "-reqout", &req]);
        self.openssl(&[
            "ocsp",
            "-index",
            "index.txt",
            "-CA",
            ca,
            "-rsigner",
            "ocsp.cert.pem",
            "-rkey",
            "ocsp.key.pem",
            "-nmin",
            "60",
            "-reqin",
            &req,
            "-respout",
            &resp,
        ]);
        self.file(&resp)
    }

    /// The OCSP responder answers from now on with a new certificate that
    /// lacks id-pkix-ocsp-nocheck and names the sub-CA's CRL, so its own
    /// status must be proven (RFC 6960 §4.2.2.2.1).
    pub fn responder_without_nocheck(&self) {
        let conf = self.pki.join("openssl.cnf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "\n[ v3_ocsp_checked ]\nbasicConstraints = critical, CA:false\n\
             keyUsage = critical, digitalSignature\nextendedKeyUsage = critical, OCSPSigning\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
             crlDistributionPoints = URI:http://127.0.0.1:{}/subca.crl\n",
            self.http_port
        ));
        std::fs::write(&conf, text).unwrap();
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ocsp.key.pem",
            "-out",
            "ocsp-checked.csr",
            "-subj",
            "/C=IN/O=LTV Test/CN=Test LTV OCSP Responder (checked)",
        ]);
        self.sub_ca(&[
            "-batch",
            "-in",
            "ocsp-checked.csr",
            "-out",
            "ocsp.cert.pem",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "v3_ocsp_checked",
            "-notext",
            "-days",
            "30",
        ]);
        self.tell_the_responder();
    }

    /// Revoke the responder's certificate: the sub-CA's CRL says so.
    pub fn revoke_responder(&self) {
        self.revoke("ocsp.cert.pem");
    }

    /// A signing certificate for Ravi Kumar's key (`signer2.p8.pem`) valid
    /// from an hour ago until `seconds` from now, known to the responder.
    /// Returns its PEM file.
    pub fn short_lived_signer(&self, seconds: i64) -> PathBuf {
        let now = time::OffsetDateTime::now_utc();
        self.openssl(&[
            "req",
            "-new",
            "-key",
            "signer2.key.pem",
            "-out",
            "short.csr",
            "-subj",
            "/C=IN/O=Government of Test/CN=Ravi Kumar (short-lived)",
            "-config",
            "openssl.cnf",
        ]);
        let (start, end) = (
            openssl_time(now - time::Duration::hours(1)),
            openssl_time(now + time::Duration::seconds(seconds)),
        );
        self.sub_ca(&[
            "-batch",
            "-in",
            "short.csr",
            "-out",
            "short.cert.pem",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "v3_sign",
            "-notext",
            "-startdate",
            &start,
            "-enddate",
            &end,
        ]);
        self.tell_the_responder();
        self.pki.join("short.cert.pem")
    }

    /// The root's CRL (about the sub-CA) issued `days` ago and valid for a
    /// month, as an offline root publishes it: a signature made now can
    /// only carry a CRL older than itself.
    pub fn backdate_root_crl(&self, days: i64) {
        let now = time::OffsetDateTime::now_utc();

        let (last, next) = (
            openssl_time(now - time::Duration::days(days)),
            openssl_time(now + time::Duration::days(30)),
        );
        self.openssl(&[
            "ca",
            "-config",
            "openssl.cnf",
            "-name",
            "rootca",
            "-gencrl",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key.pem",
            "-crl_lastupdate",
            &last,
            "-crl_nextupdate",
            &next,
            "-out",
            "root.crl.pem",
        ]);
        self.openssl(&[
            "crl",
            "-in",
            "root.crl.pem",
            "-outform",
            "DER",
            "-out",
            "root.crl",
        ]);
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.pki.join(name)
    }

    /// Stop every service (validation afterwards uses only what the file embeds).
    pub fn stop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

/// `t` as `openssl ca` takes dates: YYYYMMDDHHMMSSZ.
fn openssl_time(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

/// pyHanko's `sign validate` (revocation not checked: B-T carries none by
/// definition; B-LT is judged by [`pyhanko_dss`]) trusting only `root`.
/// Passes when every signature is INTACT:TRUSTED with a trusted time-stamp.
pub fn pyhanko_timestamped(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let py = common::pyhanko()?;
    let out = common::run(
        Command::new(py)
            .args([
                "sign",
                "validate",
                "--no-revocation-check",
                "--trust-replace",
                "--trust",
            ])
            .arg(root)
            .arg(pdf),
    );
    let text = common::text(&out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(":INTACT:") || l.contains("INVALID"))
        .collect();
    let good = out.status.success()
        && !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"));
    Some((good, text))
}

/// pyHanko's DSS reader and certificate validator: every signer and
/// time-stamp authority validates from the DSS alone (no fetching,
/// revocation data required). Call with the services stopped.
/// pyHanko's AdES validator (`sign adesverify`: past validation with
/// proofs of existence) on `pdf`, trusting `root` only. It fetches
/// revocation data it lacks, so run it while the services are up: offline it
/// refuses pyHanko's own B-LTA output as well ("no revocation information").
pub fn pyhanko_ades(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let py = common::pyhanko()?;
    let out = common::run(
        Command::new(py)
            .args(["sign", "adesverify", "--trust-replace", "--trust"])
            .arg(root)
            .arg(pdf),
    );
    let text = common::text(&out);
    let good = out.status.success()
        && text
            .contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES");
    Some((good, text))
}

pub fn pyhanko_dss(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let py = common::pyhanko()?;
    let python = py.with_file_name("python");
    let out = common::run(
        Command::new(python)
            .arg(common::repo().join("tests/fixtures/pyhanko_dss_check.py"))
            .arg(pdf)
            .arg(root),
    );
    Some((out.status.success(), common::text(&out)))
}
