//! USB vendor/product ids of the DSC tokens Indian officials are issued, and
//! the driver family (a [`super::modules::KNOWN_DRIVERS`] name) each needs.
//! `mohor doctor` uses it to say "this token is plugged in, its driver is
//! not installed".
//!
//! Provenance: entries marked `verified` appear with that id and name in the
//! CCID driver's list of readers (LudovicRousseau/CCID,
//! readers/supported_readers.txt). The others are the vendors' usual ids as
//! reported by users and are NOT verified against a published list; they
//! match by vendor id only, so a wrong product id cannot hide a token.

/// One known token (or a whole vendor when `product` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownToken {
    pub vendor: u16,
    /// `None`: every product of this vendor.
    pub product: Option<u16>,
    pub name: &'static str,
    /// Substring of the driver family's name in `KNOWN_DRIVERS`.
    pub driver_family: &'static str,
    /// The id was checked against a published list (see the module doc).
    pub verified: bool,
}

pub const KNOWN_TOKENS: &[KnownToken] = &[
    KnownToken {
        vendor: 0x096e,
        product: Some(0x0807),
        name: "Feitian ePass2003",
        driver_family: "ePass2003",
        verified: true,
    },
    KnownToken {
        vendor: 0x096e,
        product: Some(0x080a),
        name: "Feitian ePass2003 Auto",
        driver_family: "ePass2003",
        verified: true,
    },
    KnownToken {
        vendor: 0x0529,
        product: Some(0x0620),
        name: "SafeNet eToken 5100/5110",
        driver_family: "SafeNet",
        verified: true,
    },
    KnownToken {
        vendor: 0x0529,
        product: None,
        name: "SafeNet (Aladdin) eToken",
        driver_family: "SafeNet",
        verified: true,
    },
    KnownToken {
        vendor: 0x163c,
        product: Some(0x0407),
        name: "WatchData USB Key (ProxKey)",
        driver_family: "ProxKey",
        verified: true,
    },
    KnownToken {
        vendor: 0x163c,
        product: None,
        name: "WatchData token (ProxKey / TrustKey)",
        driver_family: "ProxKey",
        verified: true,
    },
    KnownToken {
        vendor: 0x055c,
        product: None,
        name: "Longmai mToken CryptoID",
        driver_family: "mToken",
        verified: false,
    },
    KnownToken {
        vendor: 0x2ccf,
        product: None,
        name: "Hypersecu HYP2003",
        driver_family: "HYP2003",
        verified: false,
    },
];

/// The best entry for a device: the exact product first, then the vendor.
pub fn lookup(vendor: u16, product: u16) -> Option<&'static KnownToken> {
    KNOWN_TOKENS
        .iter()
        .find(|t| t.vendor == vendor && t.product == Some(product))
        .or_else(|| {
            KNOWN_TOKENS
                .iter()
                .find(|t| t.vendor == vendor && t.product.is_none())
        })
}

/// A USB device as the OS lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsbDevice {
    /// Four lowercase hex digits.
    pub vendor_id: String,
    pub product_id: String,
    pub manufacturer: String,
    pub product: String,
}

/// USB devices from `/sys/bus/usb/devices/*/idVendor` (Linux); empty elsewhere
/// or when sysfs cannot be read.
pub fn list_devices(sysfs: &std::path::Path) -> Vec<UsbDevice> {
    let Ok(entries) = std::fs::read_dir(sysfs) else {
        return Vec::new();
    };
    let read = |dir: &std::path::Path, name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut out: Vec<UsbDevice> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|dir| dir.join("idVendor").is_file())
        .map(|dir| UsbDevice {
            vendor_id: read(&dir, "idVendor").to_ascii_lowercase(),
            product_id: read(&dir, "idProduct").to_ascii_lowercase(),
            manufacturer: read(&dir, "manufacturer"),
            product: read(&dir, "product"),
        })
        .collect();
    out.sort_by(|a, b| (&a.vendor_id, &a.product_id).cmp(&(&b.vendor_id, &b.product_id)));
    out
}

impl UsbDevice {
    pub fn known(&self) -> Option<&'static KnownToken> {
        let v = u16::from_str_radix(&self.vendor_id, 16).ok()?;
        let p = u16::from_str_radix(&self.product_id, 16).ok()?;
        lookup(v, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_product_beats_the_vendor_entry() {
        assert_eq!(
            lookup(0x096e, 0x0807).map(|t| t.name),
            Some("Feitian ePass2003")
        );
        assert_eq!(
            lookup(0x0529, 0x0620).map(|t| t.name),
            Some("SafeNet eToken 5100/5110")
        );
        assert_eq!(
            lookup(0x0529, 0x0001).map(|t| t.name),
            Some("SafeNet (Aladdin) eToken")
        );
        // A Feitian card reader is not a DSC token.
        assert_eq!(lookup(0x096e, 0x0619), None);
        assert_eq!(lookup(0x1d6b, 0x0002), None);
    }

    #[test]
    fn every_family_has_a_driver_in_the_table() {
        for t in KNOWN_TOKENS {
            assert!(
                super::super::modules::KNOWN_DRIVERS
                    .iter()
                    .any(|d| d.name.contains(t.driver_family)),
                "{} needs {}",
                t.name,
                t.driver_family
            );
        }
    }

    #[test]
    fn devices_are_read_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("1-2");
        std::fs::create_dir(&dev).unwrap();
        std::fs::write(dev.join("idVendor"), "096E\n").unwrap();
        std::fs::write(dev.join("idProduct"), "0807\n").unwrap();
        std::fs::write(dev.join("product"), "ePass2003\n").unwrap();
        std::fs::create_dir(dir.path().join("1-0:1.0")).unwrap(); // an interface: no idVendor
        let list = list_devices(dir.path());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].vendor_id, "096e");
        assert_eq!(list[0].manufacturer, "");
        assert_eq!(list[0].known().map(|t| t.driver_family), Some("ePass2003"));
    }
}
