// A dense, row-major, contiguous tensor with value semantics. Tensors are immutable in practice: every
// op allocates its result, so buffers are never shared-and-written (no copy-on-write surprises).
// The one mutating entry point, `withUnsafeMutablePointer`, copies first if the buffer is shared.

/// Owns one heap allocation. A class so that reshapes share storage instead of copying. The scalars start
/// on a cache line, so a kernel's 512-bit vectors never straddle two lines (malloc's 16-byte alignment makes
/// three of every four AVX-512 loads split ones). The block is a plain malloc of 64 bytes more, the start
/// moved up to the next line: an aligned allocation (posix_memalign) cost the binary VAE's many small
/// tensors ~3% of a REBAR step in malloc's bookkeeping.
public final class TensorBuffer<S>: @unchecked Sendable {
    static var alignment: Int { 64 }
    let base: UnsafeMutablePointer<S>
    let count: Int
    private let block: UnsafeMutableRawPointer
    init(count: Int) {
        Profile.countAllocation()
        self.count = count
        let bytes = Swift.max(count, 1) * MemoryLayout<S>.stride
        block = UnsafeMutableRawPointer.allocate(byteCount: bytes + Self.alignment, alignment: MemoryLayout<S>.alignment)
        let address = UInt(bitPattern: block)
        let start = block + Int((UInt(Self.alignment) - address % UInt(Self.alignment)) % UInt(Self.alignment))
        base = start.bindMemory(to: S.self, capacity: Swift.max(count, 1))
    }
    deinit { block.deallocate() }
}

public struct Tensor<S: TensorScalar>: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    private(set) var buffer: TensorBuffer<S>

    /// The number of scalars (product of the shape; 1 for a rank-0 tensor).
    public var count: Int { buffer.count }
    public var rank: Int { shape.count }

    // MARK: Creation

    /// Allocates without initialising; every kernel that uses this writes all `count` elements.
    init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        buffer = TensorBuffer(count: shape.reduce(1, *))
    }

    init(shape: [Int], buffer: TensorBuffer<S>) {
        self.shape = shape
        self.buffer = buffer
    }

    /// A rank-0 tensor holding one scalar.
    public init(_ scalar: S) {
        self.init(uninitializedShape: [])
        buffer.base[0] = scalar
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public init(repeating value: S, shape: [Int]) {
        self.init(uninitializedShape: shape)
        buffer.base.initialize(repeating: value, count: count)
    }

    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }
    public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

    public init(shape: [Int], scalars: [S]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { buffer.base.initialize(from: $0.baseAddress!, count: scalars.count) }
    }

    /// Builds a tensor by filling its buffer in place (no intermediate array).
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<S>) throws -> Void) rethrows {
        self.init(uninitializedShape: shape)
        try fill(UnsafeMutableBufferPointer(start: buffer.base, count: count))
    }

    // MARK: Access

    public var scalars: [S] { Array(UnsafeBufferPointer(start: buffer.base, count: count)) }

    /// The single value of a one-element tensor.
    public var scalar: S {
        precondition(count == 1, "scalar of a tensor with shape \(shape)")
        return buffer.base[0]
    }

    public subscript(flat index: Int) -> S { buffer.base[index] }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<S>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: buffer.base, count: count))
    }

    func withUnsafePointer<R>(_ body: (UnsafePointer<S>) throws -> R) rethrows -> R {
        try body(UnsafePointer(buffer.base))
    }

    /// In-place access for optimizers and fills. Copies the buffer first if another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<S>) throws -> R) rethrows -> R {
        let n = count
        return try withUnsafeMutablePointer { try body(UnsafeMutableBufferPointer(start: $0, count: n)) }
    }

    mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<S>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&buffer) {
            let n = buffer.count
            let copy = TensorBuffer<S>(count: n)
            copy.base.initialize(from: buffer.base, count: n)
            buffer = copy
        }
        return try body(buffer.base)
    }

    /// Same scalars, new shape (shares storage).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let wildcard = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != wildcard }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[wildcard] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: resolved, buffer: buffer)
    }

    /// Converts to another scalar type (e.g. Float training values to Double for an exact oracle).
    @_specialize(where S == Float, T == Double)
    @_specialize(where S == Double, T == Float)
    public func converted<T: TensorScalar>(to _: T.Type = T.self) -> Tensor<T> {
        Tensor<T>(shape: shape) { out in
            for i in 0..<count { out[i] = T(buffer.base[i]) }
        }
    }

    public var description: String {
        let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)[\(preview)\(count > 8 ? ", ..." : "")]"
    }

    /// True if every scalar is finite (no NaN or infinity).
    public var isFinite: Bool { S._allFiniteKernel(buffer.base, count) }

    func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for shape \(shape)")
        return a
    }
}

extension Tensor: Equatable {
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.scalars == rhs.scalars
    }
}

extension Tensor: Codable {
    enum CodingKeys: String, CodingKey { case shape, scalars }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let shape = try c.decode([Int].self, forKey: .shape)
        let scalars = try c.decode([S].self, forKey: .scalars)
        guard shape.reduce(1, *) == scalars.count else {
            throw DecodingError.dataCorruptedError(forKey: .scalars, in: c,
                debugDescription: "shape \(shape) needs \(shape.reduce(1, *)) scalars, found \(scalars.count)")
        }
        self.init(shape: shape, scalars: scalars)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shape, forKey: .shape)
        try c.encode(scalars, forKey: .scalars)
    }
}

// MARK: - Broadcasting rules (NumPy's: align trailing axes; a size-1 axis stretches)

public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Element strides that read a tensor of `shape` as if it had `target` shape (0 on stretched axes).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let own = contiguousStrides(shape)
    let offset = target.count - shape.count
    precondition(offset >= 0, "cannot broadcast \(shape) to \(target)")
    return (0..<target.count).map { i in
        if i < offset { return 0 }
        let d = shape[i - offset]
        precondition(d == target[i] || d == 1, "cannot broadcast \(shape) to \(target)")
        return d == 1 && target[i] != 1 ? 0 : own[i - offset]
    }
}
