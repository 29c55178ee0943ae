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

/// xorshift64*: reproducible garbage and coin flips for hostile-traffic tests (floods,
/// tampering relays), without a dependency.
pub struct GarbageRng(pub u64);

impl GarbageRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A draw in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True `permille` times in 1000.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
