//! The uniffi generator, built from the same uniffi version as the scaffolding in this crate:
//! `uniffi-bindgen generate --library libtessera.so --language python|kotlin|swift`.

fn main() {
    uniffi::uniffi_bindgen_main();
}
