// Seeded random streams. Every random draw in DiscreteGrad comes from an explicit RandomStream, so a
// run, a test or an estimator's noise can be replayed exactly from a seed or a saved state.

/// xoshiro256++ (Blackman & Vigna 2019): fast, 256-bit state, passes BigCrush; seeded via SplitMix64
/// so nearby seeds give unrelated streams. The state is Codable so checkpoints can resume a run exactly.
public struct RandomStream: RandomNumberGenerator, Codable, Sendable, Equatable {
    // Four words of state as separate fields: an array here would cost a bounds check per word and,
    // worse, `state[2] ^= state[0]` is an overlapping access to one array.
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x)
        s1 = splitMix(&x)
        s2 = splitMix(&x)
        s3 = splitMix(&x)
    }

    /// The 256-bit state, e.g. for logging; Codable stores it as a list of four words.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    enum CodingKeys: String, CodingKey { case state }
    public init(from decoder: Decoder) throws {
        let words = try decoder.container(keyedBy: CodingKeys.self).decode([UInt64].self, forKey: .state)
        guard words.count == 4, words.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "RandomStream state must be four words, not all zero"))
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s0 &+ s3, 23) &+ s0
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// An independent child stream (seeded from this one), e.g. one per run or per estimator.
    public mutating func split() -> RandomStream { RandomStream(seed: next()) }

    /// A uniform Double in the open interval (0, 1).
    public mutating func nextUnit() -> Double { Double.openUnit(next()) }
}

// MARK: - Tensors of random numbers

extension Tensor {
    /// Uniform on the open interval (0, 1): never exactly 0 or 1, so log u and log(1-u) are finite.
    public static func uniform(_ shape: [Int], using rng: inout RandomStream) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let n = t.count
        t.withUnsafeMutablePointer { S._uniformKernel(&rng, $0, n) }
        return t
    }

    /// Standard Gumbel: -log(-log u). Its mean is the Euler-Mascheroni constant, variance pi^2/6.
    public static func gumbel(_ shape: [Int], using rng: inout RandomStream) -> Tensor {
        uniform(shape, using: &rng).log().neg().log().neg()
    }

    /// Standard logistic: log u - log(1-u). Mean 0, variance pi^2/3.
    public static func logistic(_ shape: [Int], using rng: inout RandomStream) -> Tensor {
        let u = uniform(shape, using: &rng)
        return u.log() - u.neg().log1p()
    }

    /// Standard exponential: -log u.
    public static func exponential(_ shape: [Int], using rng: inout RandomStream) -> Tensor {
        uniform(shape, using: &rng).log().neg()
    }

    /// Bernoulli draws (0 or 1) with success probabilities `probabilities` (any shape).
    public static func bernoulli(probabilities: Tensor, using rng: inout RandomStream) -> Tensor {
        let u = uniform(probabilities.shape, using: &rng)
        return probabilities.greater(u)
    }

    /// Bernoulli draws from logits: 1[logistic noise + logit > 0], exact in both tails.
    public static func bernoulli(logits: Tensor, using rng: inout RandomStream) -> Tensor {
        (logits + logistic(logits.shape, using: &rng)).greater(Tensor(0))
    }

    /// One categorical draw per row of `logits` [..., K] by Gumbel-max, returned as class indices
    /// (shape without the last axis, stored as scalars).
    public static func categoricalIndices(logits: Tensor, using rng: inout RandomStream) -> Tensor {
        (logits + gumbel(logits.shape, using: &rng)).argmax()
    }
}
