//! Certificates from PEM (or DER) files: CA bundles in config, test keys.

use base64::Engine as _;

/// Every `CERTIFICATE` block of a PEM text, as DER; a file that is not PEM
/// is taken as one DER certificate.
pub fn certificates(bytes: &[u8]) -> Vec<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![bytes.to_vec()];
    };
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return vec![bytes.to_vec()];
    }
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" => body = Some(String::new()),
            "-----END CERTIFICATE-----" => {
                if let Some(b) = body.take() {
                    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b) {
                        out.push(der);
                    }
                }
            }
            l => {
                if let Some(b) = body.as_mut() {
                    b.push_str(l);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pem_blocks_and_der_are_both_read() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(
            super::certificates(pem.as_bytes()),
            vec![vec![0, 1, 2], vec![3]]
        );
        assert_eq!(super::certificates(&[0x30, 0x00]), vec![vec![0x30, 0x00]]);
    }
}
