#![no_main]
// The body is shared with the stable replay test: see src/fuzzing.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| harvester_sriov::fuzzing::boot_state(data));
