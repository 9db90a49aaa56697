//! Password hashing at Gatehouse's parameters (argon2id m=19 MiB, t=2, p=1), every
//! implementation in this one process, interleaved round by round so that they share the
//! machine's state (frequency, cache, other load) equally:
//!
//! - Gatehouse's `PasswordHashing` (argon2-rust, pooled buffer), hash and verify of PHC strings;
//! - argon2-rust raw (`Hasher::hash_into`, buffer reused);
//! - RustCrypto `argon2` 0.5 (what Gatehouse used before; allocates per hash);
//! - the C reference (phc-winner-argon2, bundled by `argon2-sys`) built here with `opt.c` and
//!   `-march=native -O3` (AVX2 / AVX-512 on x86-64): the strongest build of the peer;
//! - the C reference as Debian ships it (`libargon2.so.1`, portable build), loaded with `dlopen`
//!   when installed (`apt-get install libargon2-1`).
//!
//! Every raw implementation must produce the same tag; the bench checks it before timing.
//!
//! `cargo bench -p gatehouse-domain --bench password_hashing`

use std::ffi::{c_char, c_int, c_void, CStr};
use std::time::{Duration, Instant};

use gatehouse_domain::password::{
    Password, PasswordHashing, PasswordPolicy, OWASP_M_KIB, OWASP_P, OWASP_T,
};
use gatehouse_domain::secret::OsRandomness;

const ROUNDS: usize = 31;
const PASSWORD: &[u8] = b"correct horse battery staple";
const SALT: &[u8] = b"somesaltsomesalt";

type HashRaw = unsafe extern "C" fn(
    u32,
    u32,
    u32,
    *const c_void,
    usize,
    *const c_void,
    usize,
    *mut c_void,
    usize,
) -> c_int;

/// Debian's portable build of the C reference, if installed.
fn debian_libargon2() -> Option<HashRaw> {
    let name = c"libargon2.so.1";
    let symbol = c"argon2id_hash_raw";
    // SAFETY: dlopen/dlsym with NUL-terminated names; the symbol has the C reference's
    // documented signature (argon2.h), the same as `argon2_sys::argon2id_hash_raw`.
    unsafe {
        let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            return None;
        }
        let f = libc::dlsym(handle, symbol.as_ptr());
        (!f.is_null()).then(|| std::mem::transmute::<*mut c_void, HashRaw>(f))
    }
}

fn c_hash(f: HashRaw, out: &mut [u8; 32]) {
    // SAFETY: valid buffers with their lengths; argon2id_hash_raw writes exactly `hashlen` bytes.
    let rc = unsafe {
        f(
            OWASP_T,
            OWASP_M_KIB,
            OWASP_P,
            PASSWORD.as_ptr().cast(),
            PASSWORD.len(),
            SALT.as_ptr().cast(),
            SALT.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    if rc != 0 {
        // SAFETY: argon2_error_message returns a static NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(argon2_sys::argon2_error_message(rc) as *const c_char) };
        panic!("argon2id_hash_raw failed: {msg:?}");
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let ours = PasswordHashing::default();
    let password = Password::parse(
        "correct horse battery staple",
        PasswordPolicy::default(),
        &[],
    )
    .unwrap();
    let digest = ours.hash_blocking(&password, &OsRandomness).unwrap();

    let argon2_rust = argon2_rust::Argon2::new(
        argon2_rust::Algorithm::Argon2id,
        argon2_rust::Version::V0x13,
        argon2_rust::Params::builder()
            .memory(argon2_rust::params::Memory::kib(u64::from(OWASP_M_KIB)))
            .passes(OWASP_T)
            .lanes(OWASP_P)
            .build()
            .unwrap(),
    );
    let mut raw_hasher = argon2_rust.hasher();
    let rustcrypto = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(OWASP_M_KIB, OWASP_T, OWASP_P, Some(32)).unwrap(),
    );
    let c_native: HashRaw = argon2_sys::argon2id_hash_raw;
    let c_debian = debian_libargon2();

    // Same tag from every raw implementation.
    let mut expected = [0u8; 32];
    raw_hasher.hash_into(PASSWORD, SALT, &mut expected).unwrap();
    let mut tag = [0u8; 32];
    rustcrypto
        .hash_password_into(PASSWORD, SALT, &mut tag)
        .unwrap();
    assert_eq!(tag, expected, "RustCrypto argon2 agrees");
    c_hash(c_native, &mut tag);
    assert_eq!(tag, expected, "the C reference (native) agrees");
    if let Some(f) = c_debian {
        c_hash(f, &mut tag);
        assert_eq!(tag, expected, "the C reference (Debian) agrees");
    }

    let names = [
        "gatehouse PasswordHashing::hash_blocking (argon2-rust, PHC)",
        "gatehouse PasswordHashing::verify_blocking (argon2-rust, PHC)",
        "argon2-rust 1.1 raw, buffer reused",
        "RustCrypto argon2 0.5 raw (the previous implementation)",
        "C reference, opt.c -march=native (argon2-sys, in process)",
        "C reference, Debian libargon2.so.1 portable (dlopen)",
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for round in 0..ROUNDS {
        // Rotate the order each round so no implementation always runs first.
        for k in 0..names.len() {
            let which = (k + round) % names.len();
            let start = Instant::now();
            match which {
                0 => {
                    ours.hash_blocking(&password, &OsRandomness).unwrap();
                }
                1 => assert!(ours.verify_blocking(&password, &digest)),
                2 => raw_hasher.hash_into(PASSWORD, SALT, &mut tag).unwrap(),
                3 => rustcrypto
                    .hash_password_into(PASSWORD, SALT, &mut tag)
                    .unwrap(),
                4 => c_hash(c_native, &mut tag),
                _ => match c_debian {
                    Some(f) => c_hash(f, &mut tag),
                    None => continue,
                },
            }
            samples[which].push(start.elapsed());
        }
    }
    println!(
        "argon2id m={OWASP_M_KIB} KiB t={OWASP_T} p={OWASP_P}: median of {ROUNDS} interleaved rounds (argon2-rust backend: {:?})",
        argon2_rust::detected_backend()
    );
    let c_native_ms = ms(median(samples[4].clone()));
    let c_debian_ms = (!samples[5].is_empty()).then(|| ms(median(samples[5].clone())));
    for (name, s) in names.iter().zip(samples) {
        if s.is_empty() {
            println!("  {name:62} not installed");
            continue;
        }
        let m = ms(median(s));
        let vs_debian =
            c_debian_ms.map_or(String::new(), |d| format!(", {:.2}x C portable", m / d));
        println!(
            "  {name:62} {m:7.2} ms  ({:.2}x C native{vs_debian})",
            m / c_native_ms
        );
    }
    println!(
        "  hash buffers held by PasswordHashing: {}; peak RSS of this process: {} KiB",
        ours.hash_buffers(),
        peak_rss_kib()
    );
}
