//! Test cases drawn from a seed: the simulated-network matrices turn each seed into a
//! link (round trip, jitter, loss, ...) with this generator, so a failing seed names
//! the whole case and reruns it exactly.

/// xorshift64 over the seed mixed with a per-matrix salt (so two matrices given the same
/// seed draw different cases).
pub struct CaseRng(u64);

impl CaseRng {
    pub fn new(seed: u64, salt: u64) -> CaseRng {
        CaseRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
    }

    /// The next draw in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
