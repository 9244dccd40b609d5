//! Plugins in every guest language, end to end through the `factory` CLI:
//! each language's example is built from source with its own toolchain,
//! installed (precompiled), called, its answer checked, and one capability
//! it was not granted is refused, with the refusal in the journal. Then
//! `factory new` for every language and kind, each project's own
//! `make test`; and a Python role reviewing a real run.
//!
//! The toolchains come from `.ci/guest-tools` (pip, npm, apt): the tests
//! look on PATH and in `target/guest-tools/`.

mod examples;
#[path = "../factory/fx.rs"]
#[allow(dead_code)]
mod fx;
mod hostile;
mod python_role;
mod scaffold;
mod toolchain;
