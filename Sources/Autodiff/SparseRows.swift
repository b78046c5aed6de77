// Constant matrices that are mostly zeros, stored by their nonzeros: a batch of MNIST digits (about 80%
// of the grey levels are 0; binarised, about 87%) and one-hot codes. A product that reads one costs in
// proportion to its nonzeros rather than its size, so the encoder's first layer (a third of a 4x24
// step's matrix work, dense) shrinks to a fifth. `affine` takes this path by itself for a constant input
// of density at most `SparseRows.maximumDensity`; the backward rules are again sparse products, so second
// order keeps working.
import CKernels

/// A constant [rows, columns] matrix in compressed sparse rows: row r's nonzeros are `value[p]` in column
/// `index[p]` for `start[r] ≤ p < start[r + 1]`, in ascending column order.
public final class SparseRows<S: TensorScalar>: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    let start: UnsafeMutablePointer<Int>
    let index: UnsafeMutablePointer<Int32>
    let value: UnsafeMutablePointer<S>

    /// Inputs at most this dense take the sparse path in `affine`. `vae-train bench --sparse-densities
    /// 0.1,0.2,0.3,0.4,0.5` times a first layer's products both ways (784 inputs, batch 100): on AVX-512 the
    /// sparse path breaks even near 40% density at width 512, 35% at 256 and 30% at 200; 25% keeps a margin
    /// for narrower layers, where the gemm does relatively better.
    public static var maximumDensity: Double { 0.25 }

    private init(rows: Int, columns: Int, nonzeros: Int) {
        precondition(columns <= Int(Int32.max), "SparseRows: \(columns) columns do not fit 32-bit indices")
        self.rows = rows
        self.columns = columns
        start = .allocate(capacity: rows + 1)
        index = .allocate(capacity: nonzeros + 1)  // + 1: the slot dg_sparse_rows_from_dense writes past the end
        value = .allocate(capacity: nonzeros + 1)
    }

    deinit {
        start.deallocate()
        index.deallocate()
        value.deallocate()
    }

    /// The nonzeros of a rank-2 tensor (NaN counts as nonzero, so it propagates as in a dense product).
    public convenience init(_ dense: Tensor<S>) {
        precondition(dense.rank == 2, "SparseRows needs a matrix, got shape \(dense.shape)")
        let nonzeros = dense.withUnsafePointer { S._countNonzeroKernel($0, dense.count) }
        self.init(dense, nonzeros: nonzeros)
    }

    private convenience init(_ dense: Tensor<S>, nonzeros: Int) {
        self.init(rows: dense.shape[0], columns: dense.shape[1], nonzeros: nonzeros)
        Profile.measure(.gemm) {
            dense.withUnsafePointer {
                S._sparseRowsFromDenseKernel($0, rows: rows, columns: columns, start: start, index: index, value: value)
            }
        }
    }

    /// The sparse form of a matrix whose density is at most `maximumDensity`, else nil (one counting pass).
    public static func ifSparse(_ dense: Tensor<S>) -> SparseRows? {
        guard dense.rank == 2, dense.count > 0 else { return nil }
        let nonzeros = Profile.measure(.gemm) { dense.withUnsafePointer { S._countNonzeroKernel($0, dense.count) } }
        guard Double(nonzeros) <= maximumDensity * Double(dense.count) else { return nil }
        return SparseRows(dense, nonzeros: nonzeros)
    }

    public var nonzeros: Int { start[rows] }
    public var shape: [Int] { [rows, columns] }

    /// The [columns, rows] transpose, built on first use (the weight gradient's product) and kept.
    public var transposed: SparseRows {
        if let cached = transposeCache { return cached }
        let t = SparseRows(rows: columns, columns: rows, nonzeros: nonzeros)
        Profile.measure(.gemm) {
            S._sparseTransposeKernel(start: start, index: index, value: value, rows: rows, columns: columns,
                                     tStart: t.start, tIndex: t.index, tValue: t.value)
        }
        transposeCache = t
        return t
    }
    private var transposeCache: SparseRows?

    /// The dense matrix (tests, printing).
    public var dense: Tensor<S> {
        var out = Tensor<S>(zeros: shape)
        out.withUnsafeMutablePointer { o in
            for r in 0..<rows {
                for p in start[r]..<start[r + 1] { o[r * columns + Int(index[p])] = value[p] }
            }
        }
        return out
    }

    /// `onto + self · b` for b [columns, n] (onto [rows, n]; zeros if nil). Rows are split across the run's
    /// threads; each element is summed in a fixed order, so the bits do not depend on the split.
    public func times(_ b: Tensor<S>, onto: Tensor<S>? = nil) -> Tensor<S> {
        precondition(b.rank == 2 && b.shape[0] == columns, "sparse product: \(shape) · \(b.shape)")
        let n = b.shape[1]
        var out = onto ?? Tensor(uninitializedShape: [rows, n])  // written, not accumulated, when nil
        precondition(out.shape == [rows, n], "sparse product: accumulator \(out.shape), expected \([rows, n])")
        if rows == 0 || n == 0 { return out }
        // (Every row is written, also rows without nonzeros: the kernel starts each from zero.)
        let perRow = Swift.max(1, nonzeros / Swift.max(rows, 1) * n)
        Profile.measure(.gemm) {
            b.withUnsafePointer { bp in
                out.withUnsafeMutablePointer { op in
                    let (start, index, value) = (self.start, self.index, self.value)
                    Parallel.forEachChunk(rows, minimum: Swift.max(1, Parallel.minimumCheapChunk / perRow)) { r in
                        S._sparseRowsTimesDenseKernel(start: start, index: index, value: value, rows: r,
                                                      dense: bp, denseRows: columns, columns: n, out: op,
                                                      accumulate: onto != nil)
                    }
                }
            }
        }
        return out
    }
}

extension Tensor {
    /// x·W + b for a sparse x [B, in], W [in, out], b [out]: the bias rows, then the nonzeros' rows of W added on.
    public static func affine(_ x: SparseRows<S>, _ weight: Tensor, _ bias: Tensor) -> Tensor {
        precondition(weight.rank == 2 && bias.shape == [weight.shape[1]] && x.columns == weight.shape[0],
                     "affine: x \(x.shape), weight \(weight.shape), bias \(bias.shape)")
        let n = weight.shape[1]
        var rows = Tensor(uninitializedShape: [x.rows, n])
        rows.withUnsafeMutablePointer { o in
            bias.withUnsafePointer { b in
                for row in 0..<x.rows { (o + row * n).update(from: b, count: n) }
            }
        }
        return x.times(weight, onto: rows)
    }
}

/// `a · b` for a constant sparse a. Backward: aᵀ·g, again a sparse product (so differentiable again).
public func matmul<S>(_ a: SparseRows<S>, _ b: Variable<S>) -> Variable<S> {
    Variable.record(a.times(b.value), [b]) { g, _, _ in [matmul(a.transposed, g)] }
}

/// x·W + b for a constant sparse x: what `affine` runs when its input is a constant of density at most
/// `SparseRows.maximumDensity`. Backward: xᵀ·g (sparse) and Σ_rows g.
public func affine<S>(_ x: SparseRows<S>, _ weight: Variable<S>, _ bias: Variable<S>) -> Variable<S> {
    Variable.record(Tensor.affine(x, weight.value, bias.value), [weight, bias]) { g, _, needed in
        [needed[0] ? matmul(x.transposed, g) : nil,
         needed[1] ? g.sum(alongAxis: 0) : nil]
    }
}
