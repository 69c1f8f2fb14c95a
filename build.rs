//! Links the function's binary as a position-dependent executable.
//!
//! A position-independent executable is relocated by the dynamic loader at
//! every start: it writes tens of thousands of addresses into its read-only
//! data, copying each page it touches. Linked at a fixed address, as Go links
//! its Lambda functions, the binary needs none of that: init is about a
//! millisecond faster and the binary half a MiB smaller (`make bench`). The
//! cost is that the binary's own code and data lie at the same addresses in
//! every process (libraries, heap and stack are still randomised). The starter's
//! binary is linked so too; `kept-events` keeps the default.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        println!("cargo:rustc-link-arg-bin=codecommit-build-trigger=-no-pie");
        println!("cargo:rustc-link-arg-bin=starter=-no-pie");
    }
}
